//! How amounts and dates read in messages: thousands grouped, days written out.

use chrono::NaiveDate;

/// Hundredths as a person reads them: "1,250.00", "-0.05".
pub fn money(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let hundredths = hundredths.unsigned_abs();
    let whole = (hundredths / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02}", hundredths % 100)
}

/// An amount with its currency in front: "NZD 1,250.00"; the bare amount when the currency
/// is empty.
pub fn amount(currency: &str, hundredths: i64) -> String {
    format!("{currency} {}", money(hundredths))
        .trim_start()
        .to_owned()
}

/// A day in a table's column: "4 Dec 2026".
pub fn short_date(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

/// A day as a person reads it: "4 December 2026".
pub fn long_date(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_keeps_two_decimals() {
        let cases = [
            (0, "0.00"),
            (5, "0.05"),
            (50, "0.50"),
            (100, "1.00"),
            (99_999, "999.99"),
            (100_000, "1,000.00"),
            (125_000, "1,250.00"),
            (1_000_050, "10,000.50"),
            (123_456_789, "1,234,567.89"),
            (-5, "-0.05"),
            (-100, "-1.00"),
            (-125_000, "-1,250.00"),
            (-12_345_600, "-123,456.00"),
            (i64::MAX, "92,233,720,368,547,758.07"),
            (i64::MIN, "-92,233,720,368,547,758.08"),
        ];
        for (hundredths, shown) in cases {
            assert_eq!(money(hundredths), shown, "{hundredths}");
        }
    }

    #[test]
    fn an_amount_has_its_currency_in_front_unless_there_is_none() {
        let cases = [
            ("NZD", 125_000, "NZD 1,250.00"),
            ("NZD", 123_456_789, "NZD 1,234,567.89"),
            ("NZD", 5, "NZD 0.05"),
            ("AUD", -250, "AUD -2.50"),
            ("", 125_000, "1,250.00"),
        ];
        for (currency, hundredths, shown) in cases {
            assert_eq!(amount(currency, hundredths), shown);
        }
    }

    #[test]
    fn a_long_date_writes_the_day_without_padding_and_the_month_in_full() {
        let cases = [
            ((2026, 12, 4), "4 December 2026"),
            ((2026, 11, 3), "3 November 2026"),
            ((2026, 1, 31), "31 January 2026"),
            ((2028, 2, 29), "29 February 2028"),
            ((999, 7, 1), "1 July 0999"),
        ];
        for ((y, m, d), shown) in cases {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(long_date(day), shown);
        }
    }
}
