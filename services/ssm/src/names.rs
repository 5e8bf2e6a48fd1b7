//! Parameter names, selectors, labels and ARNs, with Parameter Store's rules and messages.

use gateway::AwsError;

/// The deepest hierarchy Parameter Store accepts.
pub const MAX_DEPTH: usize = 15;

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationException", message)
}

const NAME_RULES: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

/// Checks a name for `PutParameter`.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > 2048 {
        return Err(validation(NAME_RULES));
    }
    let bare = name.strip_prefix('/').unwrap_or(name);
    let lower = bare.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return Err(validation(NAME_RULES));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
    {
        return Err(validation(NAME_RULES));
    }
    if name.contains('/') {
        if !name.starts_with('/') {
            return Err(validation("Parameter name must be a fully qualified name."));
        }
        if name.len() > 1 && (bare.is_empty() || bare.split('/').any(str::is_empty)) {
            return Err(validation(NAME_RULES));
        }
        if bare.split('/').count() > MAX_DEPTH {
            return Err(AwsError::bad_request(
                "HierarchyLevelLimitExceededException",
                format!(
                    "A hierarchy can have a maximum of {MAX_DEPTH} levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide."
                ),
            ));
        }
    }
    Ok(())
}

/// A parameter's ARN: `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME` (name without its leading slash).
pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{account}:parameter/{}",
        name.strip_prefix('/').unwrap_or(name)
    )
}

/// A name as a request gives it: plain, or a parameter ARN of this account and region.
pub fn from_input(input: &str) -> String {
    if let Some(rest) = input.strip_prefix("arn:aws:ssm:")
        && let Some(idx) = rest.find(":parameter/")
    {
        let name = &rest[idx + ":parameter/".len()..];
        return if name.contains('/') {
            format!("/{name}")
        } else {
            name.to_string()
        };
    }
    input.to_string()
}

/// What a `name:label` / `name:version` suffix selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(u64),
    Label(String),
}

impl Selector {
    /// The `Selector` member of the response (`:3`, `:prod`).
    pub fn text(&self) -> Option<String> {
        match self {
            Selector::Latest => None,
            Selector::Version(v) => Some(format!(":{v}")),
            Selector::Label(l) => Some(format!(":{l}")),
        }
    }
}

/// Splits `name[:selector]` (the name may also be an ARN).
pub fn split_selector(input: &str) -> Result<(String, Selector), AwsError> {
    // ARNs contain colons of their own: the selector is after the parameter part.
    let (head, tail) = match input.find(":parameter/") {
        Some(i) => input.split_at(i + ":parameter/".len()),
        None => ("", input),
    };
    match tail.rfind(':') {
        None => Ok((from_input(input), Selector::Latest)),
        Some(i) => {
            let name = format!("{head}{}", &tail[..i]);
            let sel = &tail[i + 1..];
            if sel.is_empty() {
                return Err(validation(
                    "Invalid parameter selector: the selector after `:` is empty",
                ));
            }
            let selector = if sel.chars().all(|c| c.is_ascii_digit()) {
                Selector::Version(
                    sel.parse()
                        .map_err(|_| validation(format!("Invalid version number `{sel}`")))?,
                )
            } else {
                Selector::Label(sel.to_string())
            };
            Ok((from_input(&name), selector))
        }
    }
}

/// Whether `label` is a label Parameter Store accepts.
pub fn label_is_valid(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.chars().count() <= 100
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("/a/b/c").is_ok());
        assert!(check_name("plain_name.1-2").is_ok());
        assert!(check_name("a/b").is_err());
        assert!(check_name("/aws/x").is_err());
        assert!(check_name("SSM-thing").is_err());
        assert!(check_name("/a//b").is_err());
        assert!(check_name("/a b").is_err());
        let deep = "/x".repeat(16);
        assert_eq!(
            check_name(&deep).unwrap_err().code,
            "HierarchyLevelLimitExceededException"
        );
        assert!(check_name(&"/x".repeat(15)).is_ok());
    }

    #[test]
    fn arns_and_selectors() {
        assert_eq!(
            arn("us-east-1", "111122223333", "/a/b"),
            "arn:aws:ssm:us-east-1:111122223333:parameter/a/b"
        );
        assert_eq!(
            arn("us-east-1", "111122223333", "flat"),
            "arn:aws:ssm:us-east-1:111122223333:parameter/flat"
        );
        assert_eq!(
            from_input("arn:aws:ssm:us-east-1:111122223333:parameter/a/b"),
            "/a/b"
        );
        assert_eq!(
            from_input("arn:aws:ssm:us-east-1:111122223333:parameter/flat"),
            "flat"
        );
        assert_eq!(
            split_selector("/a/b:3").unwrap(),
            ("/a/b".to_string(), Selector::Version(3))
        );
        assert_eq!(
            split_selector("/a/b:prod").unwrap(),
            ("/a/b".to_string(), Selector::Label("prod".into()))
        );
        assert_eq!(
            split_selector("arn:aws:ssm:us-east-1:111122223333:parameter/a/b:prod").unwrap(),
            ("/a/b".to_string(), Selector::Label("prod".into()))
        );
        assert_eq!(
            split_selector("arn:aws:ssm:us-east-1:111122223333:parameter/a/b").unwrap(),
            ("/a/b".to_string(), Selector::Latest)
        );
        assert!(split_selector("/a:").is_err());
    }

    #[test]
    fn labels() {
        assert!(label_is_valid("prod"));
        assert!(label_is_valid("Release_1.2-a"));
        assert!(!label_is_valid("1st"));
        assert!(!label_is_valid("awsy"));
        assert!(!label_is_valid("ssm-x"));
        assert!(!label_is_valid("a b"));
        assert!(!label_is_valid(""));
    }

    /// Names, selectors and ARNs come from requests: no input may panic.
    #[test]
    fn no_input_panics() {
        let atoms = [
            "",
            "/",
            ":",
            "::",
            "a",
            "9",
            "aws",
            "ssm",
            "arn:aws:ssm:",
            ":parameter/",
            "parameter/",
            "é",
            "\u{0}",
            "//",
            "-",
            ".",
            "_",
            " ",
            "arn:aws:ssm:us-east-1:1:parameter/x",
            "ü:",
            "/x:1",
            ":99999999999999999999999",
        ];
        for a in atoms {
            for b in atoms {
                for c in atoms {
                    let input = format!("{a}{b}{c}");
                    let _ = check_name(&input);
                    let _ = from_input(&input);
                    let _ = split_selector(&input);
                    let _ = label_is_valid(&input);
                    let _ = arn("r", "1", &input);
                }
            }
        }
    }
}
