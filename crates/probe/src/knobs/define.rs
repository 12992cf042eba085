//! The macro that turns the one list of knobs in [`super::table`] into the [`super::Knobs`]
//! struct (a typed field per knob, its doc the entry's doc), its per-role defaults, and the
//! [`super::KNOBS`] table whose entries read and write those fields.

/// `knobs! { /// doc \n field: Type { name, kind, default: (ping, fwd), roles, axis }, ... }`.
macro_rules! knobs {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty {
            name: $name:literal,
            kind: $kind:expr,
            default: ($ping:expr, $fwd:expr),
            roles: $roles:expr,
            axis: $axis:literal $(,)?
        }
    ),+ $(,)?) => {
        /// The knobs of one role, one typed field per entry of [`KNOBS`].
        #[derive(Debug, Clone, PartialEq)]
        pub struct Knobs {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        impl Knobs {
            /// The defaults of `role`.
            pub fn defaults(role: Role) -> Knobs {
                match role {
                    Role::Ping => Knobs { $( $field: $ping, )+ },
                    Role::Fwd => Knobs { $( $field: $fwd, )+ },
                }
            }
        }

        /// Every knob, in the order of the flags' help.
        pub static KNOBS: &[Knob] = &[$(
            Knob {
                name: $name,
                param: stringify!($field),
                doc: concat!($($doc),+),
                kind: $kind,
                roles: $roles,
                axis: $axis,
                default: |role| KnobType::to_value(&Knobs::defaults(role).$field),
                get: |k| KnobType::to_value(&k.$field),
                set: |k, v| {
                    k.$field = KnobType::from_value(v)?;
                    Ok(())
                },
            },
        )+];
    };
}
