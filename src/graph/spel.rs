//! Stage conditions (SpEL) in words. The boolean structure (`and`, `or`, `!`, parentheses)
//! is parsed; the forms pipelines use to look at earlier stages are put in words:
//!
//! - `#stage('X')['status'].toString() == 'SUCCEEDED'`  -> `"X" succeeded`
//! - `#stage('X')['outputs']['KEY'] == 'true'`          -> `"X" reported KEY = true`
//! - `#judgment('X') == 'Y'`                            -> `"X" was answered "Y"`
//!
//! Anything else is shown verbatim in backticks; an expression that does not parse is
//! shown verbatim as a whole. Nothing is ever dropped.

/// The condition in words.
pub fn in_words(expression: &str) -> String {
    let e = strip_template(expression.trim());
    let mut p = Parser { s: e, pos: 0 };
    match p.or() {
        Some(node) if p.rest().trim().is_empty() => words(&node, false),
        _ => format!("`{e}`"),
    }
}

/// `${ expr }` -> `expr`: Spinnaker accepts both forms in `stageEnabled`.
fn strip_template(e: &str) -> &str {
    e.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map_or(e, str::trim)
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Atom(String),
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_space(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    /// Eats one of `ops` when it comes next (a word operator only as a whole word).
    fn eat(&mut self, ops: &[&str]) -> bool {
        self.skip_space();
        for op in ops {
            if let Some(after) = self.rest().strip_prefix(op) {
                let word = op.chars().all(|c| c.is_ascii_alphabetic());
                if word && after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                // `!` is not `!=`.
                if *op == "!" && after.starts_with('=') {
                    continue;
                }
                self.pos += op.len();
                return true;
            }
        }
        false
    }

    fn or(&mut self) -> Option<Node> {
        let mut items = vec![self.and()?];
        while self.eat(&["or", "||"]) {
            items.push(self.and()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Option<Node> {
        let mut items = vec![self.unary()?];
        while self.eat(&["and", "&&"]) {
            items.push(self.unary()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn unary(&mut self) -> Option<Node> {
        if self.eat(&["!", "not"]) {
            return Some(Node::Not(Box::new(self.unary()?)));
        }
        self.skip_space();
        if self.rest().starts_with('(') {
            let save = self.pos;
            self.pos += 1;
            if let Some(inner) = self.or()
                && self.eat(&[")"])
            {
                return Some(inner);
            }
            self.pos = save;
        }
        self.atom()
    }

    /// Everything up to the next `and`/`or`/`&&`/`||`/unmatched `)` outside quotes and
    /// brackets.
    fn atom(&mut self) -> Option<Node> {
        self.skip_space();
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut depth = 0i32;
        let mut quote: Option<u8> = None;
        let mut i = self.pos;
        while i < bytes.len() {
            let c = bytes[i];
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                _ if depth == 0 && at_operator(&self.s[i..], i == start) => break,
                _ => {}
            }
            i += 1;
        }
        let text = self.s[start..i].trim();
        if text.is_empty() || quote.is_some() || depth != 0 {
            return None;
        }
        self.pos = i;
        Some(Node::Atom(text.to_string()))
    }
}

/// A boolean operator starts here (a word operator only after a space).
fn at_operator(s: &str, at_start: bool) -> bool {
    if s.starts_with("&&") || s.starts_with("||") {
        return true;
    }
    if at_start {
        return false;
    }
    [" and ", " or "].iter().any(|op| s.starts_with(op))
}

fn words(node: &Node, nested: bool) -> String {
    match node {
        Node::Atom(a) => atom_words(a),
        Node::Not(inner) => match inner.as_ref() {
            Node::Atom(_) | Node::Not(_) => format!("not {}", words(inner, true)),
            _ => format!("not ({})", words(inner, false)),
        },
        Node::And(items) => items
            .iter()
            .map(|n| match n {
                Node::Or(_) => format!("({})", words(n, false)),
                _ => words(n, true),
            })
            .collect::<Vec<_>>()
            .join(" and "),
        Node::Or(items) => {
            // `a or (b and c)`: the parentheses are not needed in SpEL, but are in words.
            let joined = items
                .iter()
                .map(|n| match n {
                    Node::And(_) => format!("({})", words(n, false)),
                    _ => words(n, true),
                })
                .collect::<Vec<_>>()
                .join(" or ");
            if nested {
                format!("({joined})")
            } else {
                joined
            }
        }
    }
}

/// A quoted SpEL string literal at the start of `s`: its text and the rest.
fn literal(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

/// `#fn('ARG')` at the start of `s`: ARG and the rest.
fn call<'a>(s: &'a str, function: &str) -> Option<(&'a str, &'a str)> {
    let rest = s.strip_prefix(function)?.strip_prefix('(')?;
    let (arg, rest) = literal(rest.trim_start())?;
    Some((arg, rest.trim_start().strip_prefix(')')?))
}

/// `['key']` at the start of `s`.
fn index(s: &str) -> Option<(&str, &str)> {
    let (key, rest) = literal(s.strip_prefix('[')?)?;
    Some((key, rest.strip_prefix(']')?))
}

/// ` == 'v'` / ` != 'v'` (or a bare true/false) forming the whole rest: (equal?, v).
fn comparison(s: &str) -> Option<(bool, &str)> {
    let s = s.trim();
    let (equal, rest) = if let Some(r) = s.strip_prefix("==") {
        (true, r)
    } else {
        (false, s.strip_prefix("!=")?)
    };
    let rest = rest.trim();
    match literal(rest) {
        Some((v, tail)) if tail.trim().is_empty() => Some((equal, v)),
        None if matches!(rest, "true" | "false") => Some((equal, rest)),
        _ => None,
    }
}

fn atom_words(a: &str) -> String {
    known_atom(a).unwrap_or_else(|| match a {
        "true" => "always".to_string(),
        "false" => "never".to_string(),
        _ => format!("`{a}`"),
    })
}

fn known_atom(a: &str) -> Option<String> {
    if let Some((stage, rest)) = call(a, "#stage") {
        let (field, rest) = index(rest)?;
        match field {
            "status" => {
                let rest = rest.strip_prefix(".toString()").unwrap_or(rest);
                let (equal, status) = comparison(rest)?;
                return Some(status_words(stage, equal, status));
            }
            "outputs" | "context" => {
                let (key, rest) = index(rest)?;
                let (equal, value) = comparison(rest)?;
                let verb = if equal { "reported" } else { "did not report" };
                return Some(format!("\"{stage}\" {verb} {key} = {value}"));
            }
            _ => return None,
        }
    }
    if let Some((stage, rest)) = call(a, "#judgment") {
        let (equal, value) = comparison(rest)?;
        let verb = if equal {
            "was answered"
        } else {
            "was not answered"
        };
        return Some(format!("\"{stage}\" {verb} \"{value}\""));
    }
    None
}

fn status_words(stage: &str, equal: bool, status: &str) -> String {
    let what = match (status, equal) {
        ("SUCCEEDED", true) => "succeeded".to_string(),
        ("SUCCEEDED", false) => "did not succeed".to_string(),
        ("FAILED_CONTINUE", true) => "failed and the pipeline went on".to_string(),
        ("TERMINAL", true) => "failed".to_string(),
        ("SKIPPED", true) => "was skipped".to_string(),
        ("SKIPPED", false) => "was not skipped".to_string(),
        ("CANCELED", true) => "was canceled".to_string(),
        (s, true) => format!("ended {s}"),
        (s, false) => format!("did not end {s}"),
    };
    format!("\"{stage}\" {what}")
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn stage_status_outputs_and_judgments_are_put_in_words() {
        assert_eq!(
            in_words("#stage('Wait')['status'].toString() == 'SUCCEEDED'"),
            "\"Wait\" succeeded"
        );
        assert_eq!(
            in_words("#stage('Wait')['outputs']['NEW_REVISION'] == 'true'"),
            "\"Wait\" reported NEW_REVISION = true"
        );
        assert_eq!(
            in_words("#judgment(\"Approve\") != 'Go'"),
            "\"Approve\" was not answered \"Go\""
        );
        assert_eq!(in_words("${ true }"), "always");
    }

    #[test]
    fn boolean_structure_keeps_its_meaning() {
        let ok = "#stage('A')['status'].toString() == 'SUCCEEDED'";
        let new = "#stage('A')['outputs']['N'] == 'true'";
        let gate = "#stage('T')['status'].toString() == 'SUCCEEDED'";
        assert_eq!(
            in_words(&format!("!({ok}) or ({ok} and {new} and !({gate}))")),
            "not \"A\" succeeded or (\"A\" succeeded and \"A\" reported N = true and not \"T\" succeeded)"
        );
        assert_eq!(
            in_words(&format!("({ok} or {gate}) && {new}")),
            "(\"A\" succeeded or \"T\" succeeded) and \"A\" reported N = true"
        );
    }

    #[test]
    fn unknown_forms_are_shown_verbatim() {
        assert_eq!(
            in_words(
                "trigger['parameters']['go'] == 'yes' and #stage('A')['status'].toString() == 'SUCCEEDED'"
            ),
            "`trigger['parameters']['go'] == 'yes'` and \"A\" succeeded"
        );
        assert_eq!(in_words("(unbalanced"), "`(unbalanced`");
        assert_eq!(in_words("a or 'x and y'"), "`a` or `'x and y'`");
        assert_eq!(in_words("!= 3"), "`!= 3`");
    }
}
