//! A small line diff for `plan`: the files are a few dozen lines, so a
//! plain longest-common-subsequence table is enough.

/// Lines prefixed `-`/`+`, unchanged runs longer than 4 lines folded.
pub(crate) fn lines(old: &str, new: &str, indent: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the LCS of a[i..] and b[j..]
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = vec![];
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let mut out = String::new();
    let mut k = 0;
    while k < ops.len() {
        let run = ops[k..].iter().take_while(|(c, _)| *c == ' ').count();
        if run > 4 {
            out.push_str(&format!("{indent}  … {run} unchanged lines\n"));
            k += run;
            continue;
        }
        let (c, l) = ops[k];
        out.push_str(&format!("{indent}{c} {l}\n"));
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn changed_line_and_folding() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nb\nc\nd\ne\nf\nG\n";
        assert_eq!(super::lines(old, new, ""), "  … 6 unchanged lines\n- g\n+ G\n");
        assert_eq!(super::lines("", "x\n", ">"), ">+ x\n");
    }
}
