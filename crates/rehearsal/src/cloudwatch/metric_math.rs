//! CloudWatch metric math over aligned series: the expressions `alarms/` and `dashboards/` use.
//!
//! Supported: numbers, the ids of other queries, `+ - * /`, unary minus, parentheses, the comparisons
//! `> < >= <= == !=` (1 when true, 0 when false), `IF(condition, then, else)` and
//! `FILL(series, value)`. As in CloudWatch, an operation on a period where an operand has no
//! datapoint has no datapoint either (FILL is how an expression supplies one), a condition is true
//! when it is non-zero, and a division by zero has no datapoint. Anything else — another function, a
//! bad token — is an error that names it, never a silent zero.

use std::collections::HashMap;
use std::fmt;

/// One datapoint per period; `None` where the period has none.
pub type Series = Vec<Option<f64>>;

/// An expression that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    /// The text is not an expression of the supported grammar.
    #[error("metric math {expression:?}: {problem}")]
    Syntax {
        /// The expression.
        expression: String,
        /// What is wrong, and where.
        problem: String,
    },
    /// The expression names a query that does not exist.
    #[error("metric math {expression:?}: no query with id {id:?}")]
    UnknownId {
        /// The expression.
        expression: String,
        /// The id it names.
        id: String,
    },
    /// A function this evaluator does not compute.
    #[error("metric math {expression:?}: the function {function} is not supported here")]
    UnsupportedFunction {
        /// The expression.
        expression: String,
        /// The function's name.
        function: String,
    },
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// A number.
    Number(f64),
    /// The id of another query.
    Id(String),
    /// `-operand`.
    Negate(Box<Expression>),
    /// `left operator right`.
    Binary(Box<Expression>, Operator, Box<Expression>),
    /// `NAME(arguments)`.
    Call(String, Vec<Expression>),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `>`
    Greater,
    /// `<`
    Less,
    /// `>=`
    GreaterOrEqual,
    /// `<=`
    LessOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
}

impl Operator {
    fn apply(self, left: f64, right: f64) -> Option<f64> {
        let truth = |condition: bool| Some(if condition { 1.0 } else { 0.0 });
        match self {
            Operator::Add => Some(left + right),
            Operator::Subtract => Some(left - right),
            Operator::Multiply => Some(left * right),
            Operator::Divide => (right != 0.0).then(|| left / right),
            Operator::Greater => truth(left > right),
            Operator::Less => truth(left < right),
            Operator::GreaterOrEqual => truth(left >= right),
            Operator::LessOrEqual => truth(left <= right),
            Operator::Equal => truth(left == right),
            Operator::NotEqual => truth(left != right),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::Add => "+",
            Operator::Subtract => "-",
            Operator::Multiply => "*",
            Operator::Divide => "/",
            Operator::Greater => ">",
            Operator::Less => "<",
            Operator::GreaterOrEqual => ">=",
            Operator::LessOrEqual => "<=",
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
        })
    }
}

impl Expression {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, MathError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            text,
            tokens,
            next: 0,
        };
        let expression = parser.comparison()?;
        if let Some(token) = parser.tokens.get(parser.next) {
            return Err(parser.error(&format!("unexpected {token} after a complete expression")));
        }
        Ok(expression)
    }

    /// The ids of other queries the expression uses.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids = Vec::new();
        self.collect_ids(&mut ids);
        ids
    }

    fn collect_ids<'a>(&'a self, ids: &mut Vec<&'a str>) {
        match self {
            Expression::Number(_) => {}
            Expression::Id(id) => ids.push(id),
            Expression::Negate(operand) => operand.collect_ids(ids),
            Expression::Binary(left, _, right) => {
                left.collect_ids(ids);
                right.collect_ids(ids);
            }
            Expression::Call(_, arguments) => arguments.iter().for_each(|argument| argument.collect_ids(ids)),
        }
    }

    /// The expression's series, `periods` long, over the series of the queries it names. `text` is
    /// the expression as written, for the errors.
    pub fn evaluate(
        &self,
        text: &str,
        series: &HashMap<String, Series>,
        periods: usize,
    ) -> Result<Series, MathError> {
        Ok(match self {
            Expression::Number(number) => vec![Some(*number); periods],
            Expression::Id(id) => series.get(id).cloned().ok_or_else(|| MathError::UnknownId {
                expression: text.to_owned(),
                id: id.clone(),
            })?,
            Expression::Negate(operand) => operand
                .evaluate(text, series, periods)?
                .into_iter()
                .map(|value| value.map(|value| -value))
                .collect(),
            Expression::Binary(left, operator, right) => {
                let left = left.evaluate(text, series, periods)?;
                let right = right.evaluate(text, series, periods)?;
                left.iter()
                    .zip(&right)
                    .map(|(left, right)| operator.apply((*left)?, (*right)?))
                    .collect()
            }
            Expression::Call(function, arguments) => {
                let evaluated = arguments
                    .iter()
                    .map(|argument| argument.evaluate(text, series, periods))
                    .collect::<Result<Vec<_>, _>>()?;
                let arity = |count: usize| {
                    if evaluated.len() == count {
                        Ok(())
                    } else {
                        Err(MathError::Syntax {
                            expression: text.to_owned(),
                            problem: format!("{function} takes {count} arguments, not {}", evaluated.len()),
                        })
                    }
                };
                match function.as_str() {
                    "IF" => {
                        arity(3)?;
                        (0..periods)
                            .map(|index| match evaluated[0][index]? {
                                condition if condition != 0.0 => evaluated[1][index],
                                _ => evaluated[2][index],
                            })
                            .collect()
                    }
                    "FILL" => {
                        arity(2)?;
                        (0..periods)
                            .map(|index| evaluated[0][index].or(evaluated[1][index]))
                            .collect()
                    }
                    other => {
                        return Err(MathError::UnsupportedFunction {
                            expression: text.to_owned(),
                            function: other.to_owned(),
                        });
                    }
                }
            }
        })
    }
}

/// Evaluates `expressions` (id, text), which may use each other's ids as well as those of `series`,
/// each as soon as what it uses is there, and adds every result to `series` under its id. An
/// expression that names an id no query or expression defines (or that waits on a circle) is an error
/// naming it.
pub fn evaluate_all(
    expressions: &[(String, String)],
    series: &mut HashMap<String, Series>,
    periods: usize,
) -> Result<(), MathError> {
    let mut waiting: Vec<(&str, &str, Expression)> = Vec::new();
    for (id, text) in expressions {
        waiting.push((id, text, Expression::parse(text)?));
    }
    while !waiting.is_empty() {
        let ready = waiting.iter().position(|(_, _, expression)| {
            expression.ids().iter().all(|needed| series.contains_key(*needed))
        });
        let Some(index) = ready else {
            let (_, text, expression) = &waiting[0];
            let missing = expression
                .ids()
                .into_iter()
                .find(|needed| !series.contains_key(*needed))
                .unwrap_or_default();
            return Err(MathError::UnknownId {
                expression: (*text).to_owned(),
                id: missing.to_owned(),
            });
        };
        let (id, text, expression) = waiting.remove(index);
        let values = expression.evaluate(text, series, periods)?;
        series.insert(id.to_owned(), values);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Operator(Operator),
    Plus,
    Minus,
    Open,
    Close,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(number) => write!(f, "the number {number}"),
            Token::Name(name) => write!(f, "{name:?}"),
            Token::Operator(operator) => write!(f, "{operator:?}", operator = operator.to_string()),
            Token::Plus => f.write_str("\"+\""),
            Token::Minus => f.write_str("\"-\""),
            Token::Open => f.write_str("\"(\""),
            Token::Close => f.write_str("\")\""),
            Token::Comma => f.write_str("\",\""),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, MathError> {
    let syntax = |problem: String| MathError::Syntax {
        expression: text.to_owned(),
        problem,
    };
    let characters: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let two: String = characters[index..(index + 2).min(characters.len())]
            .iter()
            .collect();
        let (token, width) = match character {
            ' ' | '\t' => {
                index += 1;
                continue;
            }
            '+' => (Token::Plus, 1),
            '-' => (Token::Minus, 1),
            '*' => (Token::Operator(Operator::Multiply), 1),
            '/' => (Token::Operator(Operator::Divide), 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '>' | '<' | '=' | '!' => match two.as_str() {
                ">=" => (Token::Operator(Operator::GreaterOrEqual), 2),
                "<=" => (Token::Operator(Operator::LessOrEqual), 2),
                "==" => (Token::Operator(Operator::Equal), 2),
                "!=" => (Token::Operator(Operator::NotEqual), 2),
                _ if character == '>' => (Token::Operator(Operator::Greater), 1),
                _ if character == '<' => (Token::Operator(Operator::Less), 1),
                _ => {
                    return Err(syntax(format!(
                        "{character:?} at position {index} is not an operator"
                    )));
                }
            },
            c if c.is_ascii_digit() || c == '.' => {
                let end = (index..characters.len())
                    .find(|&end| !(characters[end].is_ascii_digit() || characters[end] == '.'))
                    .unwrap_or(characters.len());
                let digits: String = characters[index..end].iter().collect();
                let number = digits
                    .parse()
                    .map_err(|_| syntax(format!("{digits:?} at position {index} is not a number")))?;
                (Token::Number(number), end - index)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = (index..characters.len())
                    .find(|&end| !(characters[end].is_ascii_alphanumeric() || characters[end] == '_'))
                    .unwrap_or(characters.len());
                (Token::Name(characters[index..end].iter().collect()), end - index)
            }
            other => {
                return Err(syntax(format!(
                    "{other:?} at position {index} is not part of metric math"
                )));
            }
        };
        tokens.push(token);
        index += width;
    }
    Ok(tokens)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl Parser<'_> {
    fn error(&self, problem: &str) -> MathError {
        MathError::Syntax {
            expression: self.text.to_owned(),
            problem: problem.to_owned(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn comparison(&mut self) -> Result<Expression, MathError> {
        let left = self.additive()?;
        if let Some(Token::Operator(operator)) = self.peek().cloned() {
            if !matches!(operator, Operator::Multiply | Operator::Divide) {
                self.next += 1;
                let right = self.additive()?;
                return Ok(Expression::Binary(Box::new(left), operator, Box::new(right)));
            }
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expression, MathError> {
        let mut left = self.term()?;
        loop {
            let operator = match self.peek() {
                Some(Token::Plus) => Operator::Add,
                Some(Token::Minus) => Operator::Subtract,
                _ => return Ok(left),
            };
            self.next += 1;
            let right = self.term()?;
            left = Expression::Binary(Box::new(left), operator, Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Expression, MathError> {
        let mut left = self.unary()?;
        while let Some(Token::Operator(operator @ (Operator::Multiply | Operator::Divide))) =
            self.peek().cloned()
        {
            self.next += 1;
            let right = self.unary()?;
            left = Expression::Binary(Box::new(left), operator, Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expression, MathError> {
        if self.peek() == Some(&Token::Minus) {
            self.next += 1;
            return Ok(Expression::Negate(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expression, MathError> {
        let Some(token) = self.tokens.get(self.next).cloned() else {
            return Err(self.error("the expression ends where a value is expected"));
        };
        self.next += 1;
        match token {
            Token::Number(number) => Ok(Expression::Number(number)),
            Token::Open => {
                let inner = self.comparison()?;
                self.expect(&Token::Close)?;
                Ok(inner)
            }
            Token::Name(name) if self.peek() == Some(&Token::Open) => {
                self.next += 1;
                let mut arguments = Vec::new();
                if self.peek() != Some(&Token::Close) {
                    loop {
                        arguments.push(self.comparison()?);
                        if self.peek() == Some(&Token::Comma) {
                            self.next += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(&Token::Close)?;
                Ok(Expression::Call(name, arguments))
            }
            Token::Name(name) => Ok(Expression::Id(name)),
            other => Err(self.error(&format!("{other} where a value is expected"))),
        }
    }

    fn expect(&mut self, expected: &Token) -> Result<(), MathError> {
        match self.tokens.get(self.next) {
            Some(token) if token == expected => {
                self.next += 1;
                Ok(())
            }
            Some(token) => Err(self.error(&format!("{token} where {expected} is expected"))),
            None => Err(self.error(&format!("the expression ends where {expected} is expected"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluate(text: &str, series: &[(&str, Series)]) -> Result<Series, MathError> {
        let periods = series.first().map_or(3, |(_, values)| values.len());
        let series: HashMap<String, Series> = series
            .iter()
            .map(|(id, values)| ((*id).to_owned(), values.clone()))
            .collect();
        Expression::parse(text)?.evaluate(text, &series, periods)
    }

    #[test]
    fn the_failure_rate_of_the_alarms_and_the_dashboard() {
        let rate = evaluate(
            "IF(processed + failed > 0, 100 * failed / (processed + failed), 0)",
            &[
                ("processed", vec![Some(95.0), Some(0.0), None, Some(10.0)]),
                ("failed", vec![Some(5.0), Some(0.0), None, None]),
            ],
        )
        .unwrap();
        assert_eq!(
            rate,
            [Some(5.0), Some(0.0), None, None],
            "no datapoint where an operand has none"
        );
    }

    #[test]
    fn fill_supplies_the_missing_datapoints() {
        let total = evaluate(
            "FILL(validation, 0) + FILL(parsing, 0)",
            &[
                ("validation", vec![Some(2.0), None, None]),
                ("parsing", vec![None, Some(1.0), None]),
            ],
        )
        .unwrap();
        assert_eq!(total, [Some(2.0), Some(1.0), Some(0.0)]);
    }

    #[test]
    fn precedence_unary_minus_and_division_by_zero() {
        let values = [
            ("a", vec![Some(6.0), Some(1.0)]),
            ("b", vec![Some(3.0), Some(0.0)]),
        ];
        assert_eq!(
            evaluate("a - b * 2 + -1", &values).unwrap(),
            [Some(-1.0), Some(0.0)]
        );
        assert_eq!(evaluate("(a - b) * 2", &values).unwrap(), [Some(6.0), Some(2.0)]);
        assert_eq!(evaluate("a / b", &values).unwrap(), [Some(2.0), None]);
        assert_eq!(
            evaluate("duration / (900 * 10)", &[("duration", vec![Some(7200.0)])]).unwrap(),
            [Some(0.8)]
        );
        assert_eq!(
            evaluate("a >= 6", &values).unwrap(),
            [Some(1.0), Some(0.0)],
            "comparisons are 1 or 0"
        );
    }

    #[test]
    fn expressions_that_use_each_other_are_evaluated_in_the_order_they_can_be() {
        let mut series: HashMap<String, Series> = [("a".to_owned(), vec![Some(2.0)])].into();
        let expressions = [
            ("c".to_owned(), "b * 10".to_owned()),
            ("b".to_owned(), "a + 1".to_owned()),
        ];
        evaluate_all(&expressions, &mut series, 1).unwrap();
        assert_eq!(series["c"], [Some(30.0)]);
        let circle = [
            ("x".to_owned(), "y + 1".to_owned()),
            ("y".to_owned(), "x + 1".to_owned()),
        ];
        assert_eq!(
            evaluate_all(&circle, &mut series, 1).unwrap_err().to_string(),
            "metric math \"y + 1\": no query with id \"y\""
        );
    }

    #[test]
    fn the_ids_an_expression_needs() {
        let expression = Expression::parse("IF(processed + failed > 0, 100 * failed, 0)").unwrap();
        assert_eq!(expression.ids(), ["processed", "failed", "failed"]);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let cases = [
            (
                "a +",
                "metric math \"a +\": the expression ends where a value is expected",
            ),
            (
                "a b",
                "metric math \"a b\": unexpected \"b\" after a complete expression",
            ),
            (
                "(a",
                "metric math \"(a\": the expression ends where \")\" is expected",
            ),
            (
                "a % 2",
                "metric math \"a % 2\": '%' at position 2 is not part of metric math",
            ),
            (
                "a = 2",
                "metric math \"a = 2\": '=' at position 2 is not an operator",
            ),
            (
                "1.2.3",
                "metric math \"1.2.3\": \"1.2.3\" at position 0 is not a number",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(Expression::parse(text).unwrap_err().to_string(), message);
        }
        let values = [("a", vec![Some(1.0)])];
        assert_eq!(
            evaluate("missing * 2", &values).unwrap_err().to_string(),
            "metric math \"missing * 2\": no query with id \"missing\""
        );
        assert_eq!(
            evaluate("RATE(a)", &values).unwrap_err().to_string(),
            "metric math \"RATE(a)\": the function RATE is not supported here"
        );
        assert_eq!(
            evaluate("IF(a, 1)", &values).unwrap_err().to_string(),
            "metric math \"IF(a, 1)\": IF takes 3 arguments, not 2"
        );
    }
}
