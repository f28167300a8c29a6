//! The one way the tool writes a command for a person to paste: every
//! argument quoted for a POSIX shell (XCU 2.2.3: inside single quotes no
//! character is special, and a `'` is closed, escaped and reopened). Used by
//! every printed command (`remove`'s cluster leftovers, the hand-off note,
//! hints), so an interface or a file named `$(reboot)` stays a word.

use std::borrow::Cow;

/// `s` as one word for a POSIX shell: as it is when it holds only characters
/// no shell treats specially, otherwise in single quotes.
pub fn quote(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

/// A command line from its words, each quoted.
pub fn command<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_the_rest_is_quoted() {
        assert_eq!(quote("node-1.example"), "node-1.example");
        assert_eq!(quote("0000:01:00.0"), "0000:01:00.0");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(quote("e'x"), r"'e'\''x'");
        assert_eq!(command(["kubectl", "delete", "a b"]), "kubectl delete 'a b'");
    }

    /// The real `sh` reads every quoted word back as the one word it was.
    #[test]
    fn sh_reads_each_word_back() {
        let words = [
            "$(reboot)",
            "`id`",
            "e'x",
            "a{{b}}",
            "ü-eth",
            "eth#0",
            "a b",
            "*",
            "~x",
            "x;y",
            "a\nb",
            "'",
            "\\",
            "!",
            "-n",
        ];
        for w in words {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", quote(w)))
                .output()
                .unwrap();
            assert!(out.status.success(), "{w:?}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), w, "{w:?}");
        }
    }
}
