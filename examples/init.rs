//! An init phase: read configuration once, before the first event. Set
//! `INIT_FAIL=1` to make it fail (reported to `/init/error`, then exit), or
//! `INIT_PANIC=1` to make it panic (reported the same way).
use miniserde::json::Value;
use tiny_lambda::{Context, Diagnostic, Handler, Runtime};

struct Settings {
    greeting: String,
}

fn load_settings() -> Result<Settings, Diagnostic> {
    if std::env::var_os("INIT_PANIC").is_some() {
        panic!("init panicked on purpose");
    }
    if std::env::var_os("INIT_FAIL").is_some() {
        return Err(Diagnostic::new(
            "ConfigMissing",
            "INIT_FAIL is set, so the settings are missing",
        ));
    }
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_string());
    Ok(Settings { greeting })
}

fn main() {
    let runtime = Runtime::from_env();
    let settings = runtime.init(load_settings);
    runtime.serve(Handler::json(move |_event: Value, _ctx: &Context| {
        Ok::<_, Diagnostic>(settings.greeting.clone())
    }))
}
