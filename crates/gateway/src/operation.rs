//! [`operation!`](crate::operation): the [`Operation`](crate::Operation) implementation that a
//! service writes the same way for every input struct, written once.

/// Implements [`Operation`](crate::Operation) for an input struct that has two inherent methods:
/// `fn checks(&self, svc: &Service, call: &Call) -> Result<Authorization, AwsError>` (what to
/// authorize) and `async fn run(self, svc: &Service, call: &Call) -> Result<Output, AwsError>`
/// (the work, once allowed). The operation name is the struct's name.
///
/// `operation!(Service, Op -> Output)`. With `, before = path`, `path(call, "Op")` runs first
/// in `authorize`: a refusal of the whole service that no policy lifts (IAM's rules for
/// session credentials).
#[macro_export]
macro_rules! operation {
    ($svc:ty, $op:ident -> $out:ty $(, before = $before:path)?) => {
        impl $crate::Operation for $op {
            type Service = $svc;
            type Output = $out;
            const NAME: &'static str = stringify!($op);

            fn authorize(
                &self,
                svc: &$svc,
                call: &$crate::Call,
            ) -> ::std::result::Result<$crate::Authorization, $crate::AwsError> {
                $($before(call, stringify!($op))?;)?
                self.checks(svc, call)
            }

            fn handle(
                self,
                svc: ::std::sync::Arc<$svc>,
                call: $crate::Call,
            ) -> impl ::std::future::Future<
                Output = ::std::result::Result<$out, $crate::AwsError>,
            > + Send {
                async move { self.run(&svc, &call).await }
            }
        }
    };
}
