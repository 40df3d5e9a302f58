//! Histograms of sampled maps, printed bcc style. Pure: slot counts in, text out.

use std::fmt::Write as _;

const STARS: u64 = 40;

/// A log2 histogram: slot `i` counts values in `[2^i, 2^(i+1))` (slot 0 also holds 0).
/// Prints rows up to the last non-empty slot; nothing at all when every slot is empty.
pub fn log2_hist(slots: &[u64], unit: &str) -> String {
    let Some(last) = slots.iter().rposition(|&v| v > 0) else {
        return String::new();
    };
    // Wider columns once the ranges need more digits, as bcc does.
    let (pad, label, width, stars) = if last <= 32 {
        (5, 19, 10, STARS)
    } else {
        (15, 29, 20, STARS / 2)
    };
    let max = slots.iter().copied().max().unwrap_or(0);
    let mut s = format!("{:pad$}{unit:<label$} : count    distribution\n", "");
    for (i, &v) in slots.iter().enumerate().take(last + 1) {
        let high = if i >= 63 {
            u64::MAX
        } else {
            (1u64 << (i + 1)) - 1
        };
        let low = if i == 0 { 0 } else { 1u64 << i.min(63) };
        let _ = writeln!(
            s,
            "{low:>width$} -> {high:<width$} : {v:<8} |{}|",
            bar(v, max, stars)
        );
    }
    s
}

/// A linear histogram: slot `i` counts the value `i`.
pub fn linear_hist(slots: &[u64], unit: &str) -> String {
    let Some(last) = slots.iter().rposition(|&v| v > 0) else {
        return String::new();
    };
    let max = slots.iter().copied().max().unwrap_or(0);
    let mut s = format!("{unit:>10} : count    distribution\n");
    for (i, &v) in slots.iter().enumerate().take(last + 1) {
        let _ = writeln!(s, "{i:>10} : {v:<8} |{}|", bar(v, max, STARS));
    }
    s
}

fn bar(v: u64, max: u64, width: u64) -> String {
    let n = if max == 0 {
        0
    } else {
        (u128::from(v.min(max)) * u128::from(width) / u128::from(max)) as u64
    };
    let mut s = "*".repeat(n as usize);
    s.push_str(&" ".repeat((width - n) as usize));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_rows_ranges_and_stars() {
        let out = log2_hist(&[0, 2, 4, 1, 0, 0], "usecs");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0], "     usecs               : count    distribution");
        assert_eq!(
            lines[1],
            format!("         0 -> 1          : 0        |{}|", " ".repeat(40))
        );
        assert_eq!(
            lines[2],
            format!(
                "         2 -> 3          : 2        |{}{}|",
                "*".repeat(20),
                " ".repeat(20)
            )
        );
        assert_eq!(
            lines[3],
            format!("         4 -> 7          : 4        |{}|", "*".repeat(40))
        );
        assert_eq!(
            lines[4],
            format!(
                "         8 -> 15         : 1        |{}{}|",
                "*".repeat(10),
                " ".repeat(30)
            )
        );
    }

    #[test]
    fn empty_histogram_prints_nothing() {
        assert_eq!(log2_hist(&[0; 26], "usecs"), "");
        assert_eq!(log2_hist(&[], "usecs"), "");
        assert_eq!(linear_hist(&[0, 0], "x"), "");
    }

    #[test]
    fn wide_histograms_use_wider_columns() {
        let mut slots = vec![0u64; 64];
        slots[63] = 3;
        let out = log2_hist(&slots, "ns");
        let last = out.lines().last().unwrap();
        assert!(
            last.starts_with(&format!("{:>20} -> {:<20} : 3", 1u64 << 63, u64::MAX)),
            "{last}"
        );
        assert!(last.ends_with(&format!("|{}|", "*".repeat(20))), "{last}");
    }

    #[test]
    fn linear_rows() {
        let out = linear_hist(&[1, 0, 2], "slot");
        assert_eq!(
            out.lines().nth(3).unwrap(),
            format!("         2 : 2        |{}|", "*".repeat(40))
        );
    }
}
