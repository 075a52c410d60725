//! What a caught panic may say: where it happened always, its message only when allowed.
//!
//! A panic's message is written by whatever code panicked, and the common ones quote item values:
//! `serde_dynamo::from_item(...).unwrap()` on a bad number panics with
//! `FailedToParseInt("4111111111111111", …)`. The engine treats a panic message like an error's
//! source chain: it reaches the log line, the span, the invocation's `errorMessage` (and from there
//! `obsctl redrive`'s output) only with `PROCESSOR_LOG_ERROR_SOURCES=true`. The location
//! (`src/processor/mod.rs:27:79`) names code, never data, and always stays.
//!
//! The payload that `catch_unwind` returns has no location; the panic hook has it. The hook the
//! function installs ([`crate::telemetry::logs`]) notes it here, on the panicking thread, and the
//! engine takes it right after catching the panic on that same thread.

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// The location of the last panic on this thread that has not been described yet.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Notes where a panic happened; called by the panic hook, on the panicking thread.
pub(crate) fn note_location(location: String) {
    LAST_LOCATION.with(|last| *last.borrow_mut() = Some(location));
}

/// Forgets a location noted for a panic that nothing here caught (one a spawned task's runtime
/// caught, say), so that it is never given to a later panic the hook did not see on this thread.
pub(crate) fn forget_location() {
    LAST_LOCATION.with(|last| last.borrow_mut().take());
}

/// Takes the location the hook noted for the panic just caught on this thread.
fn take_location() -> Option<String> {
    LAST_LOCATION.with(|last| last.borrow_mut().take())
}

/// The text a caught panic leaves in logs, spans and error messages: `at src/lib.rs:3:5: message`
/// when `with_message`, else `at src/lib.rs:3:5 (message withheld: …)`.
pub(crate) fn describe_caught(payload: &(dyn Any + Send), with_message: bool) -> String {
    describe(take_location().as_deref(), payload, with_message)
}

/// [`describe_caught`] for a location already known (the panic hook's own line).
pub(crate) fn describe(location: Option<&str>, payload: &(dyn Any + Send), with_message: bool) -> String {
    let location = location.unwrap_or("an unknown location");
    if with_message {
        format!("at {location}: {}", message(payload))
    } else {
        // The variable is named as `RecordError::loggable_message` names it for a withheld source.
        format!(
            "at {location} (message withheld: it may quote item values; PROCESSOR_LOG_ERROR_SOURCES=true logs it)"
        )
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_withheld_unless_allowed_and_the_location_always_stays() {
        let payload: Box<dyn Any + Send> = Box::new(String::from("FailedToParseInt(\"4111111111111111\")"));
        assert_eq!(
            describe(Some("src/processor/mod.rs:27:79"), payload.as_ref(), false),
            "at src/processor/mod.rs:27:79 (message withheld: it may quote item values; \
             PROCESSOR_LOG_ERROR_SOURCES=true logs it)"
        );
        assert_eq!(
            describe(Some("src/processor/mod.rs:27:79"), payload.as_ref(), true),
            "at src/processor/mod.rs:27:79: FailedToParseInt(\"4111111111111111\")"
        );
        let literal: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(
            describe(None, literal.as_ref(), true),
            "at an unknown location: boom"
        );
        let number: Box<dyn Any + Send> = Box::new(42_u32);
        assert_eq!(
            describe(None, number.as_ref(), true),
            "at an unknown location: a panic with a payload that is not a string"
        );
    }

    #[test]
    fn a_forgotten_location_is_never_given_to_a_later_panic() {
        note_location("src/spawned.rs:9:9".into());
        forget_location();
        let payload: Box<dyn Any + Send> = Box::new("later");
        assert_eq!(
            describe_caught(payload.as_ref(), true),
            "at an unknown location: later"
        );
    }

    #[test]
    fn a_noted_location_is_taken_once_by_the_panic_caught_next() {
        note_location("src/a.rs:1:1".into());
        let payload: Box<dyn Any + Send> = Box::new("first");
        assert_eq!(describe_caught(payload.as_ref(), true), "at src/a.rs:1:1: first");
        assert_eq!(
            describe_caught(payload.as_ref(), true),
            "at an unknown location: first",
            "a location is never reused for a later panic"
        );
    }
}
