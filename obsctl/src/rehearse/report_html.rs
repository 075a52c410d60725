//! The rehearsal's report as one self-contained HTML page: the dashboards of `dashboards/`, every
//! widget drawn over the rehearsal as CloudWatch would draw it (metric graphs as inline SVG with their
//! annotations, the alarm widget's states over time, the log widget's table, the text widget), and the
//! alarm timeline. The page loads nothing — no script, font, style or image from anywhere.

use std::fmt::Write;

use rehearsal::cloudwatch::alarm_evaluation::AlarmState;
use serde_json::Value;

use super::alarms::AlarmVerdict;
use super::metric_widget::{self, MetricWidget};
use super::report::offset;
use super::{Outcome, STACK_NAME, logs_query};

/// Widget grid rows, in pixels.
const ROW_HEIGHT: u32 = 44;
/// The graph's drawing area (SVG units).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const MARGIN_LEFT: f64 = 56.0;
const MARGIN_BOTTOM: f64 = 22.0;
/// CloudWatch's default line colours, in order.
const PALETTE: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

/// The page for `outcome`, drawing `dashboards` (name, body with placeholders resolved).
pub fn page(outcome: &Outcome, dashboards: &[(String, Value)]) -> Result<String, String> {
    let rehearsal = &outcome.rehearsal;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rehearsal: {}</title><style>{STYLE}</style></head><body>",
        escape(&outcome.scenario.description)
    );
    let _ = write!(
        html,
        "<header><h1>Incident rehearsal</h1><p class=\"scenario\">{}</p><p>{} simulated minutes (and {} more for the alarms to settle): {} records, {} invocations, {}. Times are simulated minutes since the start.</p></header>",
        escape(&outcome.scenario.description),
        outcome.scenario.duration_minutes,
        (rehearsal.end_ms - rehearsal.start_ms) / 60_000 - i64::from(outcome.scenario.duration_minutes),
        rehearsal.records,
        rehearsal.invocations,
        rehearsal.dead_letters_summary()
    );
    html.push_str(&alarm_timeline_table(outcome));
    for (name, body) in dashboards {
        let _ = write!(
            html,
            "<section><h2>Dashboard {}</h2><div class=\"grid\">",
            escape(name)
        );
        for (index, widget) in body
            .get("widgets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            html.push_str(
                &widget_html(outcome, widget)
                    .map_err(|error| format!("dashboard {name}, widget {index}: {error}"))?,
            );
        }
        html.push_str("</div></section>");
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

const STYLE: &str = "body{font-family:sans-serif;margin:16px;color:#16191f;background:#f2f3f3}\
header p{margin:4px 0}.scenario{font-weight:bold}\
table{border-collapse:collapse;font-size:12px;background:#fff}td,th{border:1px solid #d5dbdb;padding:2px 6px;text-align:left;vertical-align:top}\
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:44px;gap:8px}\
.widget{background:#fff;border:1px solid #d5dbdb;padding:6px;overflow:auto}.widget h3{font-size:13px;margin:0 0 4px}\
svg{width:100%;height:calc(100% - 40px)}.legend{font-size:11px}.legend span{margin-right:10px;white-space:nowrap}\
.swatch{display:inline-block;width:10px;height:3px;margin-right:3px;vertical-align:middle}\
.state-ALARM{color:#d62728;font-weight:bold}.state-OK{color:#2ca02c}.state-INSUFFICIENT_DATA{color:#879596}\
.approx{font-style:italic;color:#8c564b}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn alarm_timeline_table(outcome: &Outcome) -> String {
    let start = outcome.rehearsal.start_ms;
    let mut html = String::from(
        "<section><h2>Alarms</h2><table><tr><th>alarm</th><th>first ALARM</th><th>state changes</th><th>notifications after the first evaluation</th></tr>",
    );
    for alarm in &outcome.alarms {
        let changes: Vec<String> = alarm
            .changes
            .iter()
            .map(|change| {
                format!(
                    "{} <span class=\"state-{}\">{}</span>",
                    offset(start, change.at_ms),
                    change.to,
                    change.to
                )
            })
            .collect();
        let _ = write!(
            html,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&alarm.name),
            if alarm.approximate {
                " <span class=\"approx\">(approx.)</span>"
            } else {
                ""
            },
            alarm
                .first_alarm_ms()
                .map_or_else(|| "-".to_owned(), |at| offset(start, at)),
            changes.join(", "),
            alarm.later_notifications(start).count()
        );
    }
    html.push_str("</table>");
    if outcome.alarms.iter().any(|alarm| alarm.approximate) {
        html.push_str("<p class=\"approx\">(approx.): an anomaly detection alarm, evaluated against a documented stand-in for CloudWatch's band, whose model is not public.</p>");
    }
    html.push_str("</section>");
    html
}

fn widget_html(outcome: &Outcome, widget: &Value) -> Result<String, String> {
    let number = |name: &str| widget.get(name).and_then(Value::as_u64).unwrap_or(0);
    let kind = widget.get("type").and_then(Value::as_str).unwrap_or_default();
    let properties = widget
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let title = properties
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let inner = match kind {
        "metric" => {
            let computed = metric_widget::compute(
                &properties,
                &outcome.rehearsal.metrics,
                outcome.rehearsal.start_ms,
                outcome.rehearsal.end_ms,
            )?;
            graph(&computed)
        }
        "alarm" => alarm_widget(outcome, &properties),
        "log" => {
            let query = properties
                .get("query")
                .and_then(Value::as_str)
                .unwrap_or_default();
            log_table(&logs_query::run(query, &outcome.rehearsal.log_lines)?)
        }
        "text" => markdown(
            properties
                .get("markdown")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        other => return Err(format!("widgets of type {other:?} are not drawn here")),
    };
    Ok(format!(
        "<div class=\"widget widget-{kind}\" style=\"grid-column:{} / span {};grid-row:{} / span {};height:{}px\">{}{inner}</div>",
        number("x") + 1,
        number("width").max(1),
        number("y") + 1,
        number("height").max(1),
        number("height").max(1) as u32 * (ROW_HEIGHT + 8) - 8 - 14,
        if title.is_empty() {
            String::new()
        } else {
            format!("<h3>{}</h3>", escape(title))
        }
    ))
}

/// A time-series graph with its annotations, as inline SVG.
fn graph(widget: &MetricWidget) -> String {
    let maximum = |right: bool| {
        widget
            .lines
            .iter()
            .filter(|line| line.right_axis == right)
            .flat_map(|line| line.values.iter().flatten().copied())
            .fold(0.0_f64, f64::max)
    };
    let annotations = widget.annotations.iter().map(|annotation| annotation.value);
    let observed_max = annotations.fold(maximum(false), f64::max);
    let y_min = widget.y_range.0.unwrap_or(0.0);
    let y_max = widget.y_range.1.unwrap_or(if observed_max > y_min {
        observed_max * 1.1
    } else {
        y_min + 1.0
    });
    let right_max = if maximum(true) > 0.0 {
        maximum(true) * 1.1
    } else {
        1.0
    };
    let right = |value: f64| (HEIGHT - MARGIN_BOTTOM) * (1.0 - (value / right_max).clamp(0.0, 1.0));
    let has_right_axis = widget.lines.iter().any(|line| line.right_axis);
    let periods = widget
        .lines
        .iter()
        .map(|line| line.values.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let x = |index: usize| MARGIN_LEFT + (WIDTH - MARGIN_LEFT) * index as f64 / (periods - 1) as f64;
    let y =
        |value: f64| (HEIGHT - MARGIN_BOTTOM) * (1.0 - ((value - y_min) / (y_max - y_min)).clamp(0.0, 1.0));
    let mut svg = format!("<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"none\" role=\"img\">");
    let _ = write!(
        svg,
        "<line x1=\"{MARGIN_LEFT}\" y1=\"{0}\" x2=\"{WIDTH}\" y2=\"{0}\" stroke=\"#879596\"/><line x1=\"{MARGIN_LEFT}\" y1=\"0\" x2=\"{MARGIN_LEFT}\" y2=\"{0}\" stroke=\"#879596\"/>",
        HEIGHT - MARGIN_BOTTOM
    );
    for fraction in [0.0, 0.5, 1.0] {
        let value = y_min + (y_max - y_min) * fraction;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            MARGIN_LEFT - 4.0,
            y(value).max(10.0),
            short_number(value)
        );
    }
    if has_right_axis {
        for fraction in [0.5, 1.0] {
            let _ = write!(
                svg,
                "<text x=\"{WIDTH}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#879596\">{} (right)</text>",
                right(right_max * fraction).max(10.0) + 12.0,
                short_number(right_max * fraction)
            );
        }
    }
    let minutes_per_period = widget.period_s as f64 / 60.0;
    let tick_every = ((periods as f64 * minutes_per_period / 6.0 / 10.0).ceil() * 10.0 / minutes_per_period)
        .max(1.0) as usize;
    for index in (0..periods).step_by(tick_every) {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">+{:.0}</text>",
            x(index),
            HEIGHT - 6.0,
            index as f64 * minutes_per_period
        );
    }
    for annotation in &widget.annotations {
        let color = annotation.color.as_deref().unwrap_or("#d62728");
        let _ = write!(
            svg,
            "<line class=\"annotation\" x1=\"{MARGIN_LEFT}\" y1=\"{0}\" x2=\"{WIDTH}\" y2=\"{0}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/><text x=\"{WIDTH}\" y=\"{1}\" font-size=\"10\" text-anchor=\"end\" fill=\"{color}\">{2}</text>",
            y(annotation.value),
            (y(annotation.value) - 3.0).max(10.0),
            escape(&annotation.label)
        );
    }
    for (number, line) in widget.lines.iter().enumerate() {
        let color = line.color.as_deref().unwrap_or(PALETTE[number % PALETTE.len()]);
        // Each run of datapoints between missing ones is a line of its own; a lone one is a dot.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let flush = |segment: &mut Vec<(f64, f64)>, svg: &mut String| {
            match segment.as_slice() {
                [] => {}
                [(cx, cy)] => {
                    let _ = write!(
                        svg,
                        "<circle class=\"series\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"2\" fill=\"{color}\"/>"
                    );
                }
                points => {
                    let points: Vec<String> =
                        points.iter().map(|(px, py)| format!("{px:.1},{py:.1}")).collect();
                    let _ = write!(
                        svg,
                        "<polyline class=\"series\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
                        points.join(" ")
                    );
                }
            }
            segment.clear();
        };
        for (index, value) in line.values.iter().enumerate() {
            match value {
                Some(value) => {
                    segment.push((x(index), if line.right_axis { right(*value) } else { y(*value) }))
                }
                None => flush(&mut segment, &mut svg),
            }
        }
        flush(&mut segment, &mut svg);
    }
    svg.push_str("</svg><div class=\"legend\">");
    for (number, line) in widget.lines.iter().enumerate() {
        let color = line.color.as_deref().unwrap_or(PALETTE[number % PALETTE.len()]);
        let datapoints = line.values.iter().flatten().count();
        let _ = write!(
            svg,
            "<span data-datapoints=\"{datapoints}\"><i class=\"swatch\" style=\"background:{color}\"></i>{}</span>",
            escape(&line.label)
        );
    }
    svg.push_str("</div>");
    svg
}

fn short_number(value: f64) -> String {
    if value.abs() >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if value.abs() >= 1_000.0 {
        format!("{:.1}k", value / 1_000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The alarm widget: each alarm's state over the rehearsal as a strip, and its final state.
fn alarm_widget(outcome: &Outcome, properties: &serde_json::Map<String, Value>) -> String {
    let rehearsal = &outcome.rehearsal;
    let span = (rehearsal.end_ms - rehearsal.start_ms) as f64;
    let mut html = String::from("<table class=\"alarm-states\">");
    for arn in properties
        .get("alarms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        let file_name = name.strip_prefix(&format!("{STACK_NAME}-")).unwrap_or(name);
        let Some(alarm) = outcome.alarms.iter().find(|alarm| alarm.name == file_name) else {
            let _ = write!(
                html,
                "<tr><td>{}</td><td colspan=\"2\">not in alarms/</td></tr>",
                escape(name)
            );
            continue;
        };
        let final_state = alarm
            .changes
            .last()
            .map_or(AlarmState::InsufficientData, |change| change.to);
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"state-{final_state}\">{final_state}</td><td style=\"width:60%\">{}</td></tr>",
            escape(name),
            state_strip(alarm, rehearsal.start_ms, span)
        );
    }
    html.push_str("</table>");
    html
}

fn state_strip(alarm: &AlarmVerdict, start_ms: i64, span: f64) -> String {
    let mut svg = String::from(
        "<svg class=\"strip\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" style=\"height:10px\">",
    );
    let mut state = AlarmState::InsufficientData;
    let mut from = 0.0;
    let mut boundaries: Vec<(f64, AlarmState)> = alarm
        .changes
        .iter()
        .map(|change| ((change.at_ms - start_ms) as f64 / span * 100.0, change.to))
        .collect();
    boundaries.push((100.0, AlarmState::InsufficientData));
    for (to, next) in boundaries {
        let color = match state {
            AlarmState::Ok => "#2ca02c",
            AlarmState::Alarm => "#d62728",
            AlarmState::InsufficientData => "#d5dbdb",
        };
        let _ = write!(
            svg,
            "<rect x=\"{from:.2}\" y=\"0\" width=\"{:.2}\" height=\"6\" fill=\"{color}\"/>",
            (to - from).max(0.0)
        );
        state = next;
        from = to;
    }
    svg.push_str("</svg>");
    svg
}

fn log_table(result: &logs_query::QueryResult) -> String {
    let mut html = String::from("<table class=\"log-rows\"><tr>");
    for column in &result.columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    html.push_str("</tr>");
    for row in &result.rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>");
    }
    if result.rows.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"{}\">no log line matches the query</td></tr>",
            result.columns.len()
        );
    }
    html.push_str("</table>");
    html
}

/// The text widget's Markdown: headings, paragraphs and bold, the rest as text.
fn markdown(text: &str) -> String {
    let mut html = String::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let (tag, content) = match line.strip_prefix("# ") {
            Some(heading) => ("h3", heading),
            None => ("p", line),
        };
        let mut rendered = String::new();
        for (index, part) in escape(content).split("**").enumerate() {
            if index % 2 == 1 {
                let _ = write!(rendered, "<b>{part}</b>");
            } else {
                rendered.push_str(part);
            }
        }
        let _ = write!(html, "<{tag}>{rendered}</{tag}>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_headings_bold_and_escaping() {
        assert_eq!(
            markdown("# Title\nSome **bold** <text>\n\nend"),
            "<h3>Title</h3><p>Some <b>bold</b> &lt;text&gt;</p><p>end</p>"
        );
    }

    #[test]
    fn a_graph_draws_each_run_of_datapoints_and_the_annotations() {
        let widget = MetricWidget {
            title: "t".into(),
            period_s: 60,
            lines: vec![metric_widget::Line {
                label: "failed".into(),
                color: None,
                values: vec![Some(1.0), Some(2.0), None, Some(4.0)],
                right_axis: false,
            }],
            annotations: vec![metric_widget::Annotation {
                label: "alarm".into(),
                value: 3.0,
                color: None,
            }],
            y_range: (None, None),
        };
        let svg = graph(&widget);
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "the two datapoints before the gap"
        );
        assert_eq!(svg.matches("<circle").count(), 1, "the lone datapoint after it");
        assert_eq!(svg.matches("class=\"annotation\"").count(), 1);
        assert!(svg.contains("data-datapoints=\"3\""), "{svg}");
    }
}
