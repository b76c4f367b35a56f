//! Reading typed values out of `AnyRow`s; a value that does not parse is a corrupt row, not a
//! client error.

use crate::{StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

pub(crate) fn get_i64(row: &AnyRow, column: &str) -> StoreResult<i64> {
    row.try_get::<i64, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn get_opt_i64(row: &AnyRow, column: &str) -> StoreResult<Option<i64>> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn get_string(row: &AnyRow, column: &str) -> StoreResult<String> {
    row.try_get::<String, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn get_opt_string(row: &AnyRow, column: &str) -> StoreResult<Option<String>> {
    row.try_get::<Option<String>, _>(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn get_parsed<T>(row: &AnyRow, column: &str) -> StoreResult<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text = get_string(row, column)?;
    text.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{column}={text:?}: {e}")))
}

pub(crate) fn get_amount(row: &AnyRow, column: &str) -> StoreResult<paygate_domain::Amount> {
    let minor = get_i64(row, column)?;
    paygate_domain::Amount::from_minor(minor)
        .map_err(|e| StoreError::Corrupt(format!("{column}={minor}: {e}")))
}

/// An identifier column, checked by its type's `parse`.
pub(crate) fn get_id<T, E: std::fmt::Display>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Result<T, E>,
) -> StoreResult<T> {
    let text = get_string(row, column)?;
    parse(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
