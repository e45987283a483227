//! `tiny-lambda new` as a user runs it: the files of each template, a
//! directory that exists (refused, left as it was) and a bad name (refused).
//! Building and testing the projects it writes is CI's "templates" step: a
//! cargo inside this test would wait on the lock of the one running it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the command in `dir` with `args`.
fn tiny_lambda(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiny-lambda"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("tiny-lambda runs")
}

/// An empty directory of its own for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("new")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

const PROJECT_FILES: [&str; 9] = [
    "Cargo.toml",
    "src/main.rs",
    "tests/invoke.rs",
    "tests/common/mod.rs",
    "events/event.json",
    "template.yaml",
    "README.md",
    ".cargo/config.toml",
    ".gitignore",
];

#[test]
fn writes_every_file_of_each_template() {
    let dir = scratch("each_template");
    let checkout = env!("CARGO_MANIFEST_DIR");
    let cases = [
        (None, "tiny_lambda::run("),
        (Some("--http"), "http_adapter::run("),
        (Some("--sqs"), "SqsEvent"),
        (Some("--stream"), "Handler::streaming("),
        (Some("--aws"), "put_item("),
    ];
    for (flag, marker) in cases {
        let name = format!("fn-{}", flag.unwrap_or("--json").trim_start_matches('-'));
        let mut args = vec!["new", &name, "--path", checkout];
        args.extend(flag);
        let out = tiny_lambda(&dir, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let project = dir.join(&name);
        for file in PROJECT_FILES {
            assert!(project.join(file).is_file(), "{name}: {file} is missing");
        }
        let main = fs::read_to_string(project.join("src/main.rs")).unwrap();
        assert!(main.contains(marker), "{name}: src/main.rs\n{main}");
        let manifest = fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{manifest}"
        );
        assert!(manifest.contains("[profile.size]"), "{manifest}");
        let canonical = fs::canonicalize(checkout).unwrap();
        assert!(
            manifest.contains(&format!("path = \"{}\"", canonical.display())),
            "{manifest}"
        );
        let sam = fs::read_to_string(project.join("template.yaml")).unwrap();
        assert!(sam.contains("Runtime: provided.al2023"), "{sam}");
        assert!(sam.contains("AllowedValues: [arm64, x86_64]"), "{sam}");
    }
}

#[test]
fn depends_on_the_checkout_it_was_built_from_by_default() {
    let dir = scratch("own_checkout");
    let out = tiny_lambda(&dir, &["new", "hello"]);
    assert!(out.status.success());
    let manifest = fs::read_to_string(dir.join("hello/Cargo.toml")).unwrap();
    // The command lives in tools/cli of the checkout.
    let checkout = fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
    assert!(
        manifest.contains(&format!(
            "tiny-lambda = {{ path = \"{}\" }}",
            checkout.display()
        )),
        "{manifest}"
    );
    let mock = checkout.join("tools").join("mock");
    assert!(
        manifest.contains(&format!(
            "tiny-lambda-mock = {{ path = \"{}\" }}",
            mock.display()
        )),
        "{manifest}"
    );
}

#[test]
fn depends_on_this_version_from_crates_io_when_asked() {
    let dir = scratch("crates_io");
    let out = tiny_lambda(&dir, &["new", "hello", "--sqs", "--crates-io"]);
    assert!(out.status.success());
    let manifest = fs::read_to_string(dir.join("hello/Cargo.toml")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        manifest.contains(&format!(
            "tiny-lambda = {{ version = \"{version}\", features = [\"events-sqs\"] }}"
        )),
        "{manifest}"
    );
}

#[test]
fn never_writes_into_an_existing_directory() {
    let dir = scratch("existing");
    fs::create_dir(dir.join("hello")).unwrap();
    fs::write(dir.join("hello/Cargo.toml"), "mine").unwrap();
    let out = tiny_lambda(&dir, &["new", "hello"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hello already exists"), "{stderr}");
    assert_eq!(
        fs::read_to_string(dir.join("hello/Cargo.toml")).unwrap(),
        "mine"
    );
    assert_eq!(fs::read_dir(dir.join("hello")).unwrap().count(), 1);
}

#[test]
fn refuses_a_name_cargo_would_refuse() {
    let dir = scratch("bad_name");
    for (name, why) in [
        ("2fast", "starts with `2`"),
        ("my.function", "`.` is not allowed"),
        ("fn", "Rust reserves it"),
    ] {
        let out = tiny_lambda(&dir, &["new", name]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("`{name}` cannot name a package")),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
        assert!(!dir.join(name).exists(), "{name} was created");
    }
}

#[test]
fn refuses_two_templates_and_a_path_that_is_not_tiny_lambda() {
    let dir = scratch("usage");
    let out = tiny_lambda(&dir, &["new", "hello", "--http", "--sqs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one template at most"));
    let out = tiny_lambda(&dir, &["new", "hello", "--path", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Cargo.toml there"));
    assert!(!dir.join("hello").exists());
}
