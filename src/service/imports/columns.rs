//! The header of an import's CSV. A column's name is read without regard to case or the
//! spaces around it (`Phone`, ` building `), and a name the import does not know (`buidling`)
//! refuses the whole file, naming it and the known ones: its values would otherwise be left
//! unread, and a field of existing records silently kept as it was.

use super::Row;

/// The columns of `venues.csv`: the sample's, then the optional ones; the first is the id.
pub const VENUE_COLUMNS: &[&str] = &[
    "code",
    "name",
    "kind",
    "community",
    "address",
    "gates",
    "households",
    "parent",
    "lat",
    "lon",
    "opens",
    "closes",
];

/// The columns of `residents.csv`; the first is the id.
pub const RESIDENT_COLUMNS: &[&str] = &[
    "resident_id",
    "name",
    "phone",
    "home",
    "building",
    "room",
    "household",
    "tags",
];

/// A header naming a column the import does not know, or one column twice: the message
/// says which and lists the known columns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header: {0}; nothing was imported")]
pub struct ColumnsError(String);

/// `headers` with each name as the imports read it: trimmed and in lower case. A blank name
/// (a trailing comma on the header line) is left blank and read by no field.
///
/// A header without the id column (`known[0]`) is not this import's file at all (an empty
/// body, JSON, the other import's CSV, whose `name` both share): it is given back as it is,
/// for the required columns' check to report on line 1.
///
/// # Errors
/// [`ColumnsError`] for a header that names the id column and also a column outside `known`,
/// or a column twice.
pub fn canonical(headers: &Row, known: &[&str], file: &str) -> Result<Row, ColumnsError> {
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    if !known
        .first()
        .is_some_and(|id| names.iter().any(|n| n == id))
    {
        return Ok(names.into_iter().collect());
    }
    let unknown: Vec<String> = names
        .iter()
        .zip(headers.iter())
        .filter(|(name, _)| !name.is_empty() && !known.contains(&name.as_str()))
        .map(|(_, raw)| format!("`{}`", raw.trim()))
        .collect();
    let list = known.join(", ");
    if !unknown.is_empty() {
        let (noun, names) = match unknown.as_slice() {
            [one] => ("column", one.clone()),
            many => ("columns", many.join(", ")),
        };
        return Err(ColumnsError(format!(
            "unknown {noun} {names}: a {file} file's columns are {list}, in any order and any \
             case"
        )));
    }
    for (i, name) in names.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
        if let Some(j) = names[..i].iter().position(|earlier| earlier == name) {
            return Err(ColumnsError(format!(
                "column {name} is named twice (columns {} and {})",
                j + 1,
                i + 1
            )));
        }
    }
    Ok(names.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Row {
        text.split(',').collect()
    }

    #[test]
    fn names_are_read_in_any_case_with_spaces_trimmed_and_unknown_ones_refused() {
        let read = canonical(
            &header(" Resident_ID,NAME,Phone ,,tags"),
            RESIDENT_COLUMNS,
            "residents",
        );
        assert_eq!(read, Ok(header("resident_id,name,phone,,tags")));
        let misspelt = canonical(
            &header("resident_id,name,phone,buidling"),
            RESIDENT_COLUMNS,
            "residents",
        );
        assert!(misspelt.is_err_and(|e| e.to_string().starts_with(
            "header: unknown column `buidling`: a residents file's columns are resident_id, name"
        )));
        let twice = canonical(&header("code,name,Name"), VENUE_COLUMNS, "venues");
        assert!(twice.is_err_and(|e| e.to_string().contains("name is named twice")));
        let not_ours = canonical(&header("{\"a\":1}"), VENUE_COLUMNS, "venues");
        assert_eq!(not_ours, Ok(header("{\"a\":1}")));
        // The other import's file shares `name` but not the id: line 1 says what is missing.
        let other = canonical(&header("code,name,kind"), RESIDENT_COLUMNS, "residents");
        assert_eq!(other, Ok(header("code,name,kind")));
    }
}
