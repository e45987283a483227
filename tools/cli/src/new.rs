//! The `new` verb: writes a ready function project, the way `cargo new`
//! writes a crate, from one of five templates.
//!
//! The files live under `templates/`, each a real file included here as
//! text: the parts every project shares at the top (`Cargo.toml.in`,
//! `README.md`, `common.rs`, `cargo-config.toml`, `gitignore`), and one
//! folder per kind with what differs (`main.rs`, `test.rs`, `event.json`,
//! `template.yaml`, `about.md`, the README's opening paragraph, and for
//! `aws` the C compilers `cargo-config.toml` adds for ring). A
//! template marks what is filled in as `{{name}}`, `{{about}}`,
//! `{{tiny_lambda}}` and `{{tiny_lambda_mock}}`; nothing else is
//! computed. The manifest's template is not called `Cargo.toml` because
//! `cargo package` leaves out any folder that holds one (it would be a
//! package of its own), and the templates must ship with the crate.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use lexopt::Arg;

use crate::failure::Failure;

const HELP: &str = "\
Usage: tiny-lambda new NAME [--http | --sqs | --stream | --aws] [--path DIR | --crates-io]

Writes a new Lambda function project in the directory NAME, whose last
component names the package: Cargo.toml (tiny-lambda, the size profile, a
binary named bootstrap), src/main.rs from the chosen template,
tests/invoke.rs that runs the function against tiny-lambda's mock Runtime
API, events/event.json, a SAM template.yaml (provided.al2023, arm64 or
x86_64) and a README with the test, invoke, package and deploy commands.
NAME must not exist yet: nothing is ever written into an existing directory.

Templates (one at most; without one, a handler of JSON in, JSON out):
  --http      An HTTP API behind API Gateway, on the HTTP adapter
  --sqs       An SQS consumer that hands refused messages back to the queue
  --stream    A streamed answer (InvokeWithResponseStream)
  --aws       Stores each event in DynamoDB with the blocking AWS client

Where the project's tiny-lambda comes from:
  (default)    The checkout this command was built from, if it was built
               from one that is still there (a path dependency), else this
               version from crates.io
  --path DIR   The tiny-lambda source at DIR (a path dependency)
  --crates-io  This command's version from crates.io

Options:
  -h, --help   Print this help

Then: cd NAME && cargo test

Exit codes: 0 written, 2 usage error (a bad NAME, NAME exists), 4 I/O error.
";

/// What a project starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Http,
    Sqs,
    Stream,
    Aws,
}

/// The files of one kind, as text with placeholders.
struct KindFiles {
    main: &'static str,
    test: &'static str,
    event: &'static str,
    sam: &'static str,
    about: &'static str,
    /// Settings appended to `.cargo/config.toml`, if the kind needs any.
    cargo_config: Option<&'static str>,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Json, Kind::Http, Kind::Sqs, Kind::Stream, Kind::Aws];

    /// The kind a command-line flag asks for.
    fn from_flag(flag: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.flag() == Some(flag))
    }

    fn flag(self) -> Option<&'static str> {
        match self {
            Kind::Json => None,
            Kind::Http => Some("http"),
            Kind::Sqs => Some("sqs"),
            Kind::Stream => Some("stream"),
            Kind::Aws => Some("aws"),
        }
    }

    /// The tiny-lambda features its `main.rs` needs beyond the default ones.
    fn features(self) -> &'static [&'static str] {
        match self {
            Kind::Json | Kind::Stream => &[],
            Kind::Http => &["http-adapter"],
            Kind::Sqs => &["events-sqs"],
            Kind::Aws => &["aws"],
        }
    }

    fn files(self) -> KindFiles {
        match self {
            Kind::Json => KindFiles {
                main: include_str!("templates/json/main.rs"),
                test: include_str!("templates/json/test.rs"),
                event: include_str!("templates/json/event.json"),
                sam: include_str!("templates/json/template.yaml"),
                about: include_str!("templates/json/about.md"),
                cargo_config: None,
            },
            Kind::Http => KindFiles {
                main: include_str!("templates/http/main.rs"),
                test: include_str!("templates/http/test.rs"),
                event: include_str!("templates/http/event.json"),
                sam: include_str!("templates/http/template.yaml"),
                about: include_str!("templates/http/about.md"),
                cargo_config: None,
            },
            Kind::Sqs => KindFiles {
                main: include_str!("templates/sqs/main.rs"),
                test: include_str!("templates/sqs/test.rs"),
                event: include_str!("templates/sqs/event.json"),
                sam: include_str!("templates/sqs/template.yaml"),
                about: include_str!("templates/sqs/about.md"),
                cargo_config: None,
            },
            Kind::Stream => KindFiles {
                main: include_str!("templates/stream/main.rs"),
                test: include_str!("templates/stream/test.rs"),
                event: include_str!("templates/stream/event.json"),
                sam: include_str!("templates/stream/template.yaml"),
                about: include_str!("templates/stream/about.md"),
                cargo_config: None,
            },
            Kind::Aws => KindFiles {
                main: include_str!("templates/aws/main.rs"),
                test: include_str!("templates/aws/test.rs"),
                event: include_str!("templates/aws/event.json"),
                sam: include_str!("templates/aws/template.yaml"),
                about: include_str!("templates/aws/about.md"),
                cargo_config: Some(include_str!("templates/aws/cargo-config.toml")),
            },
        }
    }
}

/// Where the project's tiny-lambda comes from.
enum Source {
    /// This command's own version, from crates.io.
    CratesIo,
    /// A checkout on this machine, as an absolute path.
    Path(String),
}

/// The command line of `new`.
struct Options {
    dir: PathBuf,
    kind: Kind,
    source: Source,
}

/// Runs `tiny-lambda new`.
pub fn run(args: &mut lexopt::Parser) -> Result<(), Failure> {
    let Some(options) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let name = package_name(&options.dir)?;
    let files = project(options.kind, &name, &options.source);
    create(&options.dir, &files)?;
    let shown = options.dir.display();
    let template = options.kind.flag().unwrap_or("json");
    println!("Created {name} ({template} template) in {shown}:");
    if let Source::Path(path) = &options.source {
        println!("  (tiny-lambda from {path}; --crates-io for the published crate)");
    }
    for (path, _) in &files {
        println!("  {path}");
    }
    println!("Next: cd {shown} && cargo test");
    Ok(())
}

/// The command line, or `None` when help was asked for.
fn parse(args: &mut lexopt::Parser) -> Result<Option<Options>, Failure> {
    let mut dir = None;
    let mut kind = None;
    let mut path = None;
    let mut crates_io = false;
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(None),
            Arg::Long("path") => path = Some(PathBuf::from(args.value()?)),
            Arg::Long("crates-io") => crates_io = true,
            Arg::Long(flag) if Kind::from_flag(flag).is_some() => {
                if kind.is_some() {
                    return Err(Failure::Usage(
                        "give one template at most: --http, --sqs, --stream or --aws".to_owned(),
                    ));
                }
                kind = Kind::from_flag(flag);
            }
            Arg::Value(value) if dir.is_none() => dir = Some(PathBuf::from(value)),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(dir) = dir else {
        return Err(Failure::Usage(
            "new needs a NAME: tiny-lambda new NAME [--http | --sqs | --stream | --aws]".to_owned(),
        ));
    };
    let source = match (path, crates_io) {
        (Some(_), true) => {
            return Err(Failure::Usage(
                "give --path DIR or --crates-io, not both".to_owned(),
            ));
        }
        (Some(path), false) => Source::Path(checkout(&path)?),
        (None, true) => Source::CratesIo,
        (None, false) => own_checkout().map_or(Source::CratesIo, Source::Path),
    };
    Ok(Some(Options {
        dir,
        kind: kind.unwrap_or(Kind::Json),
        source,
    }))
}

/// The checkout this command was built from, if it was built from one (not
/// from a crate cargo downloaded) and it is still there: until tiny-lambda
/// is on crates.io, the only source a new project can build against.
fn own_checkout() -> Option<String> {
    // This command lives in tools/cli of the checkout.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.parent()?;
    let downloaded = dir.components().any(|c| c.as_os_str() == "registry");
    if downloaded {
        return None;
    }
    checkout(dir).ok()
}

/// The absolute path of a tiny-lambda source directory, as TOML can hold it.
fn checkout(path: &Path) -> Result<String, Failure> {
    let manifest = fs::read_to_string(path.join("Cargo.toml")).map_err(|e| {
        Failure::Usage(format!(
            "--path {}: no Cargo.toml there ({e})",
            path.display()
        ))
    })?;
    if !manifest.contains("name = \"tiny-lambda\"") {
        return Err(Failure::Usage(format!(
            "--path {}: its Cargo.toml is not tiny-lambda's",
            path.display()
        )));
    }
    let absolute = fs::canonicalize(path)
        .map_err(|e| Failure::Internal(format!("cannot resolve {}: {e}", path.display())))?;
    absolute.into_os_string().into_string().map_err(|_| {
        Failure::Usage(format!(
            "--path {}: a path that is not UTF-8 cannot go in Cargo.toml",
            path.display()
        ))
    })
}

/// The package name a project directory gives, if cargo would accept it.
fn package_name(dir: &Path) -> Result<String, Failure> {
    let name = dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "`{}` does not end in a name for the package",
                dir.display()
            ))
        })?;
    check_name(name).map_err(|why| {
        Failure::Usage(format!(
            "`{name}` cannot name a package: {why} (cargo's rules)"
        ))
    })?;
    Ok(name.to_owned())
}

/// Cargo's rules for a package name, the ones `cargo new` applies.
fn check_name(name: &str) -> Result<(), String> {
    // Names of Rust's own crates, and its keywords, which cargo refuses too.
    const RESERVED: &str = "alloc core proc_macro std test \
        abstract as async await become box break const continue crate do dyn else enum extern \
        false final fn for gen if impl in let loop macro match mod move mut override priv pub \
        ref return self static struct super trait true try type typeof unsafe unsized use \
        virtual where while yield";
    let Some(first) = name.chars().next() else {
        return Err("it is empty".to_owned());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "`{bad}` is not allowed, only ASCII letters, digits, `-` and `_`"
        ));
    }
    if first.is_ascii_digit() || first == '-' {
        return Err(format!("it starts with `{first}`"));
    }
    if name.len() > 64 {
        return Err("it is longer than 64 characters".to_owned());
    }
    let as_crate = name.replace('-', "_");
    if RESERVED.split_whitespace().any(|word| word == as_crate) {
        return Err("Rust reserves it".to_owned());
    }
    Ok(())
}

/// Every file of the project, as its path in the project and its text.
fn project(kind: Kind, name: &str, source: &Source) -> Vec<(&'static str, String)> {
    let files = kind.files();
    let cargo_config =
        include_str!("templates/cargo-config.toml").to_owned() + files.cargo_config.unwrap_or("");
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{about}}", files.about.trim_end())
            .replace("{{tiny_lambda}}", &dependency(source, kind.features()))
            .replace("{{tiny_lambda_mock}}", &mock_dependency(source))
    };
    vec![
        ("Cargo.toml", fill(include_str!("templates/Cargo.toml.in"))),
        ("src/main.rs", fill(files.main)),
        ("tests/invoke.rs", fill(files.test)),
        (
            "tests/common/mod.rs",
            fill(include_str!("templates/common.rs")),
        ),
        ("events/event.json", fill(files.event)),
        ("template.yaml", fill(files.sam)),
        ("README.md", fill(include_str!("templates/README.md"))),
        (".cargo/config.toml", fill(&cargo_config)),
        (".gitignore", fill(include_str!("templates/gitignore"))),
    ]
}

/// The `tiny-lambda = ...` line of the generated manifest.
fn dependency(source: &Source, features: &[&str]) -> String {
    let from = match source {
        Source::CratesIo => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
        Source::Path(path) => format!("path = {}", toml_string(path)),
    };
    if features.is_empty() {
        return format!("tiny-lambda = {{ {from} }}");
    }
    let features: Vec<String> = features.iter().map(|f| format!("\"{f}\"")).collect();
    format!(
        "tiny-lambda = {{ {from}, features = [{}] }}",
        features.join(", ")
    )
}

/// The `[dev-dependencies]` line for the mock Runtime API, from the same
/// source: in a checkout it sits at tools/mock.
fn mock_dependency(source: &Source) -> String {
    match source {
        Source::CratesIo => format!(
            "tiny-lambda-mock = {{ version = \"{}\" }}",
            env!("CARGO_PKG_VERSION")
        ),
        Source::Path(path) => {
            let mock = Path::new(path).join("tools").join("mock");
            format!(
                "tiny-lambda-mock = {{ path = {} }}",
                toml_string(&mock.to_string_lossy())
            )
        }
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Creates `dir`, which must not exist, and writes the files into it. If a
/// write fails, the directory this call created is removed again: nothing
/// else was ever in it.
fn create(dir: &Path, files: &[(&str, String)]) -> Result<(), Failure> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| Failure::Internal(format!("cannot create {}: {e}", parent.display())))?;
    }
    // create_dir, not create_dir_all: it fails if the directory exists, in
    // the same step as making it, so no file of the user's is overwritten.
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Failure::Usage(format!(
                "{} already exists; tiny-lambda new only writes into a new directory",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(Failure::Internal(format!(
                "cannot create {}: {e}",
                dir.display()
            )));
        }
    }
    let written = files.iter().try_for_each(|(path, text)| {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, text)
    });
    written.map_err(|e| {
        let _ = fs::remove_dir_all(dir);
        Failure::Internal(format!(
            "cannot write the project in {}: {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargos_rules() {
        for good in ["hello", "my-function", "orders_v2", "a", "Hello"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        let bad = [
            ("", "empty"),
            ("1st", "starts with `1`"),
            ("-x", "starts with `-`"),
            ("my function", "` ` is not allowed"),
            ("café", "`é` is not allowed"),
            ("a.b", "`.` is not allowed"),
            ("fn", "reserves"),
            ("std", "reserves"),
            ("proc-macro", "reserves"),
        ];
        for (name, why) in bad {
            let error = check_name(name).expect_err(name);
            assert!(error.contains(why), "{name}: {error}");
        }
        assert!(check_name(&"x".repeat(65)).is_err());
    }

    /// The first `{{word}}` left in `text`, if any. (Rust's own `{{` in a
    /// format string is followed by something else.)
    fn placeholder_left(text: &str) -> Option<&str> {
        text.match_indices("{{").find_map(|(at, _)| {
            let rest = &text[at + 2..];
            let word = &rest[..rest.find("}}")?];
            let is_word =
                !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            is_word.then_some(word)
        })
    }

    #[test]
    fn every_placeholder_of_every_kind_is_filled() {
        assert_eq!(placeholder_left("a {{name}} b"), Some("name"));
        assert_eq!(placeholder_left(r#"format!("{{\"id\":{}}}")"#), None);
        let sources = [
            Source::CratesIo,
            Source::Path("/src/tiny \"lambda\"".into()),
        ];
        for kind in Kind::ALL {
            for source in &sources {
                for (path, text) in project(kind, "hello", source) {
                    let left = placeholder_left(&text);
                    assert_eq!(left, None, "{kind:?} {path}:\n{text}");
                }
            }
        }
    }

    #[test]
    fn the_manifest_names_the_features_a_kind_needs() {
        let manifest = |kind, source| project(kind, "hello", &source).remove(0).1;
        let version = env!("CARGO_PKG_VERSION");
        let http = manifest(Kind::Http, Source::CratesIo);
        assert!(http.contains("name = \"hello\""));
        assert!(http.contains(&format!(
            "tiny-lambda = {{ version = \"{version}\", features = [\"http-adapter\"] }}"
        )));
        assert!(http.contains(&format!("tiny-lambda-mock = {{ version = \"{version}\" }}")));
        let json = manifest(Kind::Json, Source::Path("/src/tiny-lambda".into()));
        assert!(json.contains(r#"tiny-lambda = { path = "/src/tiny-lambda" }"#));
        assert!(json.contains(r#"tiny-lambda-mock = { path = "/src/tiny-lambda/tools/mock" }"#));
    }

    #[test]
    fn flags_name_one_kind_each() {
        for kind in Kind::ALL {
            if let Some(flag) = kind.flag() {
                assert_eq!(Kind::from_flag(flag), Some(kind));
            }
        }
        assert_eq!(Kind::from_flag("json"), None);
    }
}
