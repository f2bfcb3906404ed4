//! Fractional indices: dense, totally ordered string keys for sibling order.
//!
//! A key is a non-empty string of base-62 digits read as the fraction `0.d1d2d3…`; byte order
//! is numeric order because the digit alphabet is in ASCII order. A key never ends in the zero
//! digit, so there is always room below it. Two replicas that insert at the same spot at the
//! same time can pick the same key; readers break that tie by block id (see `tree`).

const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn digit_value(c: u8) -> Option<usize> {
    DIGITS.iter().position(|d| *d == c)
}

/// Whether `key` is a well-formed fractional index.
pub(crate) fn is_valid(key: &str) -> bool {
    !key.is_empty() && !key.ends_with('0') && key.bytes().all(|b| digit_value(b).is_some())
}

/// A key strictly between `before` and `after` (either may be open).
///
/// Both bounds must be valid keys with `before < after`; they come from the document, where a
/// foreign writer could have put anything, so the caller sanitises first.
pub(crate) fn between(before: Option<&str>, after: Option<&str>) -> String {
    let lo = before.unwrap_or("");
    if let Some(hi) = after {
        debug_assert!(
            lo < hi,
            "fractional index bounds out of order: {lo:?} >= {hi:?}"
        );
    }
    match (before, after) {
        (Some(lo), None) => append_after(lo.as_bytes()),
        (None, Some(hi)) => prepend_before(hi.as_bytes()),
        _ => midpoint(lo.as_bytes(), after.map(str::as_bytes)),
    }
}

/// A key above `lo`, kept short: appending is the common case and must not grow keys by a
/// digit every few inserts, as halving towards one would.
fn append_after(lo: &[u8]) -> String {
    let Some(first) = lo.first().and_then(|c| digit_value(*c)) else {
        return midpoint(&[], None);
    };
    if first + 1 < DIGITS.len() {
        return char::from(DIGITS[first + 1]).to_string();
    }
    let mut out = char::from(DIGITS[first]).to_string();
    out.push_str(&append_after(&lo[1..]));
    out
}

/// A key below `hi`, kept short for the same reason.
fn prepend_before(hi: &[u8]) -> String {
    let first = hi.first().and_then(|c| digit_value(*c)).unwrap_or(0);
    if first > 1 {
        return char::from(DIGITS[first - 1]).to_string();
    }
    // "0…" keys: stay below by keeping the leading digit and going deeper.
    let mut out = char::from(DIGITS[0]).to_string();
    let rest = hi.get(1..).unwrap_or(&[]);
    if first == 1 || rest.is_empty() {
        out.push_str(&midpoint(&[], None));
    } else {
        out.push_str(&prepend_before(rest));
    }
    out
}

/// The midpoint of `lo` (possibly empty, meaning zero) and `hi` (None meaning one).
fn midpoint(lo: &[u8], hi: Option<&[u8]>) -> String {
    if let Some(hi) = hi {
        // Strip the common prefix, treating missing digits of `lo` as zeros.
        let common = (0..hi.len())
            .take_while(|&i| lo.get(i).copied().unwrap_or(b'0') == hi[i])
            .count();
        if common > 0 {
            let rest_lo = lo.get(common..).unwrap_or(&[]);
            let mut out = String::from_utf8_lossy(&hi[..common]).into_owned();
            out.push_str(&midpoint(rest_lo, Some(&hi[common..])));
            return out;
        }
    }
    let lo_digit = lo.first().and_then(|c| digit_value(*c)).unwrap_or(0);
    let hi_digit = hi
        .and_then(|h| h.first())
        .and_then(|c| digit_value(*c))
        .unwrap_or(DIGITS.len());
    if hi_digit - lo_digit > 1 {
        let mid = (lo_digit + hi_digit).div_ceil(2);
        return char::from(DIGITS[mid]).to_string();
    }
    // Adjacent first digits: keep lo's digit and go one level deeper (hi is then open above).
    if let Some(hi) = hi.filter(|h| h.len() > 1) {
        return char::from(hi[0]).to_string();
    }
    let mut out = char::from(DIGITS[lo_digit]).to_string();
    out.push_str(&midpoint(lo.get(1..).unwrap_or(&[]), None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    #[test]
    fn open_bounds_give_a_middle_key() {
        let k = between(None, None);
        assert!(is_valid(&k));
        assert!(between(None, Some(&k)) < k);
        assert!(between(Some(&k), None) > k);
    }

    #[test]
    fn repeated_inserts_stay_ordered_and_valid() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut keys = vec![between(None, None)];
        for _ in 0..2_000 {
            let i = rng.random_range(0..=keys.len());
            let before = i.checked_sub(1).map(|j| keys[j].as_str());
            let after = keys.get(i).map(String::as_str);
            let k = between(before, after);
            assert!(is_valid(&k), "{k:?}");
            if let Some(b) = before {
                assert!(b < k.as_str(), "{b:?} < {k:?}");
            }
            if let Some(a) = after {
                assert!(k.as_str() < a, "{k:?} < {a:?}");
            }
            keys.insert(i, k);
        }
    }

    #[test]
    fn appending_and_prepending_keep_keys_short() {
        let mut last: Option<String> = None;
        for _ in 0..1_000 {
            let next = between(last.as_deref(), None);
            assert!(last.as_deref().is_none_or(|l| l < next.as_str()));
            last = Some(next);
        }
        assert!(last.unwrap().len() < 40);
        let mut first: Option<String> = None;
        for _ in 0..1_000 {
            let next = between(None, first.as_deref());
            assert!(is_valid(&next), "{next:?}");
            assert!(first.as_deref().is_none_or(|f| next.as_str() < f));
            first = Some(next);
        }
        assert!(first.unwrap().len() < 60);
    }

    #[test]
    fn rejects_malformed_keys() {
        assert!(!is_valid(""));
        assert!(!is_valid("a0"));
        assert!(!is_valid("a-b"));
        assert!(is_valid("V"));
    }
}
