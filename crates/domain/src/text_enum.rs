//! `text_enum!`: the one text form of a fieldless enum stored or sent as a string.

/// Gives a fieldless enum its text form from one table: `ALL` (every variant, in order),
/// `as_str`, `FromStr` (with the enum's own error for unknown text) and `Display`, so the three
/// cannot drift apart.
///
/// The enum is declared in the same table (its attributes and variant docs pass through), so a
/// variant is written once:
///
/// ```text
/// text_enum! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum PayType, unknown(text) => format!("unknown pay_type {text:?}"), String {
///         /// The platform's own stored-value wallet.
///         Wallet = "wallet",
///     }
/// }
/// ```
///
/// The form without `pub enum` (the text form alone) is what the declaring form expands to.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, unknown($text:ident) => $unknown:expr, $error:ty {
            $($(#[$vmeta:meta])* $variant:ident = $string:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        $crate::text_enum! {
            $name, unknown($text) => $unknown, $error;
            $($variant = $string),+
        }
    };
    (
        $name:ident, unknown($text:ident) => $unknown:expr, $error:ty;
        $($variant:ident = $string:literal),+ $(,)?
    ) => {
        impl $name {
            pub const ALL: [$name; [$($string),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $string,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $error;
            fn from_str($text: &str) -> Result<Self, Self::Err> {
                match $text {
                    $($string => Ok($name::$variant),)+
                    _ => Err($unknown),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::schedule::NotificationStatus;
    use crate::sign::SignType;
    use crate::{Currency, OrderStatus, PayType, RefundStatus};

    fn texts<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(|v| v.to_string()).collect()
    }

    /// The strings are stored in the database and sent on the wire: they never change.
    #[test]
    fn every_enum_keeps_its_stored_strings() {
        let expected: [(&[&str], Vec<String>); 6] = [
            (
                &[
                    "CREATED",
                    "WAIT_PAY",
                    "USERPAYING",
                    "SUCCESS",
                    "PARTIAL_REFUND",
                    "REFUND",
                    "CLOSED",
                ],
                texts(&OrderStatus::ALL),
            ),
            (
                &[
                    "wallet",
                    "wechat_jsapi",
                    "wechat_native",
                    "wechat_h5",
                    "wechat_app",
                    "wechat_micropay",
                    "alipay_native",
                    "alipay_jsapi",
                    "alipay_h5",
                    "alipay_pc",
                    "alipay_app",
                    "alipay_micropay",
                    "unionpay_web",
                    "unionpay_h5",
                    "unionpay_app",
                    "unionpay_native",
                    "unionpay_micropay",
                    "auto",
                ],
                texts(&PayType::ALL),
            ),
            (
                &["PROCESSING", "SUCCESS", "FAIL"],
                texts(&RefundStatus::ALL),
            ),
            (
                &["PENDING", "DELIVERED", "GAVE_UP"],
                texts(&NotificationStatus::ALL),
            ),
            (&["CNY", "HKD", "USD", "JPY"], texts(&Currency::ALL)),
            (&["MD5", "HMAC-SHA256", "RSA2"], texts(&SignType::ALL)),
        ];
        for (strings, got) in expected {
            assert_eq!(got, strings);
        }
    }

    #[test]
    fn every_string_parses_back_and_unknown_text_is_refused() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
        for currency in Currency::ALL {
            assert_eq!(currency.as_str().parse(), Ok(currency));
        }
        for sign_type in SignType::ALL {
            assert_eq!(sign_type.as_str().parse(), Ok(sign_type));
        }
        assert_eq!(
            "paid".parse::<OrderStatus>(),
            Err("unknown order status \"paid\"".to_owned())
        );
        assert_eq!(
            "cny".parse::<Currency>(),
            Err(crate::AmountError::UnknownCurrency)
        );
        assert_eq!(
            "md5".parse::<SignType>(),
            Err(crate::sign::SignError::UnknownSignType)
        );
    }
}
