//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
//! GenerateRandom. The encryption context is bound as additional authenticated data and exposed to
//! policies as `kms:EncryptionContext:<key>` and `kms:EncryptionContextKeys`.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, Operation};
use zeroize::Zeroizing;

use crate::api::*;
use crate::crypto::{self, EncryptionContext, Header};
use crate::errors;
use crate::{KeyView, Kms, now_of};

const SYMMETRIC: &str = "SYMMETRIC_DEFAULT";
const MAX_PLAINTEXT: usize = 4096;

/// The request's encryption context, borrowed (an absent one is empty).
fn context_of(c: &Option<ContextMap>) -> &EncryptionContext {
    static EMPTY: EncryptionContext = EncryptionContext::new();
    c.as_ref().unwrap_or(&EMPTY)
}

/// Supplies the encryption context condition keys.
pub(crate) fn with_context(mut c: Check, ctx: &EncryptionContext) -> Check {
    if ctx.is_empty() {
        return c;
    }
    let keys: Vec<String> = ctx.keys().cloned().collect();
    for (k, v) in ctx {
        c = c.with(["kms:EncryptionContext:", k].concat(), v.clone());
    }
    c.with("kms:EncryptionContextKeys", keys)
}

fn check_algorithm(alg: &Option<String>, member: &str) -> Result<(), AwsError> {
    match alg.as_deref() {
        None | Some(SYMMETRIC) => Ok(()),
        Some(other) => Err(errors::invalid_key_usage(format!(
            "The {member} {other} is not supported by a SYMMETRIC_DEFAULT key."
        ))),
    }
}

fn crypto_check(
    svc: &Kms,
    call: &Call,
    action: &'static str,
    v: KeyView,
    ctx: &EncryptionContext,
) -> Check {
    with_context(svc.key_check_from(call, action, v), ctx)
        .with("kms:EncryptionAlgorithm", SYMMETRIC)
}

fn decode_ciphertext(b64: &str) -> Result<(Vec<u8>, Header), AwsError> {
    let blob = decode_blob(b64).ok_or_else(errors::invalid_ciphertext)?;
    let header = crypto::parse_header(&blob).ok_or_else(errors::invalid_ciphertext)?;
    Ok((blob, header))
}

/// The sealed result of one encryption.
struct Sealed {
    blob: String,
    arn: String,
    material_id: String,
}

/// One decryption.
struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    arn: String,
    material_id: String,
}

impl Kms {
    /// Seals `plaintext` under the current material of key `id`.
    fn seal(
        &self,
        call: &Call,
        id: &str,
        ctx: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Sealed, AwsError> {
        let st = self.read();
        let key = st
            .live(id, now_of(call))
            .ok_or_else(|| errors::key_not_found(id))?;
        key.usable()?;
        let (version, material, material_id) = key.current()?;
        let uuid = crypto::uuid_bytes(&key.rec.id)
            .ok_or_else(|| AwsError::internal(format!("key id {} is not a UUID", key.rec.id)))?;
        let blob = material
            .seal(uuid, version, ctx, plaintext)
            .map_err(|_| AwsError::internal("encryption failed"))?;
        Ok(Sealed {
            blob: encode_blob(&blob),
            arn: key.arn(),
            material_id,
        })
    }

    /// Opens a blob with the material version it names.
    fn open_blob(
        &self,
        call: &Call,
        blob: &[u8],
        header: &Header,
        ctx: &EncryptionContext,
    ) -> Result<Opened, AwsError> {
        let st = self.read();
        let key = st
            .live(&header.key_id(), now_of(call))
            .ok_or_else(errors::invalid_ciphertext)?;
        key.usable()?;
        let material = key
            .materials
            .get(&header.version)
            .ok_or_else(errors::invalid_ciphertext)?;
        let plaintext = material
            .open(blob, ctx)
            .map_err(|_| errors::invalid_ciphertext())?;
        let material_id = key
            .rec
            .materials
            .iter()
            .find(|m| m.version == header.version)
            .map(|m| m.material_id.clone())
            .unwrap_or_default();
        Ok(Opened {
            plaintext,
            arn: key.arn(),
            material_id,
        })
    }

    /// The view of the key a ciphertext names; `requested` (a `KeyId` parameter) must name the same key.
    fn ciphertext_view(
        &self,
        call: &Call,
        header: &Header,
        requested: Option<&str>,
    ) -> Result<KeyView, AwsError> {
        let id = header.key_id();
        if let Some(req) = requested {
            let r = self.parse_ref(call.account(), req, true)?;
            let st = self.read();
            match self.lookup_id(&st, &r, now_of(call))? {
                Some(named) if named == id => {}
                _ => return Err(errors::incorrect_key()),
            }
        }
        let st = self.read();
        self.view_of(&st, call, &id)
            .map_err(|_| errors::invalid_ciphertext())
    }

    /// Makes sure the key a request names exists (creating an AWS managed key on first use) and
    /// that its rotation is current; returns its id.
    async fn prepare_key(&self, call: &Call, key_id: &str) -> Result<String, AwsError> {
        let v = self.view(call, key_id, true)?;
        self.ensure_managed(call, &v).await?;
        self.rotate_if_due(call, &v.id).await?;
        Ok(v.id)
    }

    fn dry_run_check(&self, call: &Call, id: &str) -> Result<(), AwsError> {
        let st = self.read();
        if let Some(k) = st.live(id, now_of(call)) {
            k.usable()?;
        }
        Err(errors::dry_run())
    }
}

fn plaintext_bytes(b64: &str) -> Result<Zeroizing<Vec<u8>>, AwsError> {
    let bytes = Zeroizing::new(
        decode_blob(b64).ok_or_else(|| errors::validation("Plaintext is not valid base64"))?,
    );
    if bytes.is_empty() {
        return Err(errors::validation(
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if bytes.len() > MAX_PLAINTEXT {
        return Err(errors::validation(
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
        ));
    }
    Ok(bytes)
}

impl Operation for Encrypt {
    type Service = Kms;
    type Output = EncryptOutput;
    const NAME: &'static str = "Encrypt";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_algorithm(&self.encryption_algorithm, "encryption algorithm")?;
        let v = svc.view(call, &self.key_id, true)?;
        let ctx = context_of(&self.encryption_context);
        Ok(Authorization::check(crypto_check(
            svc,
            call,
            "kms:Encrypt",
            v,
            ctx,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<EncryptOutput, AwsError> {
        let plaintext = plaintext_bytes(&self.plaintext)?;
        let id = svc.prepare_key(&call, &self.key_id).await?;
        if self.dry_run == Some(true) {
            return svc
                .dry_run_check(&call, &id)
                .map(|_| EncryptOutput::default());
        }
        let ctx = context_of(&self.encryption_context);
        let s = svc.seal(&call, &id, ctx, &plaintext)?;
        Ok(EncryptOutput {
            ciphertext_blob: s.blob,
            key_id: s.arn,
            encryption_algorithm: SYMMETRIC.into(),
        })
    }
}

impl Operation for Decrypt {
    type Service = Kms;
    type Output = DecryptOutput;
    const NAME: &'static str = "Decrypt";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_algorithm(&self.encryption_algorithm, "encryption algorithm")?;
        let (_, header) = decode_ciphertext(&self.ciphertext_blob)?;
        let v = svc.ciphertext_view(call, &header, self.key_id.as_deref())?;
        let ctx = context_of(&self.encryption_context);
        Ok(Authorization::check(crypto_check(
            svc,
            call,
            "kms:Decrypt",
            v,
            ctx,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<DecryptOutput, AwsError> {
        let (blob, header) = decode_ciphertext(&self.ciphertext_blob)?;
        if self.dry_run == Some(true) {
            return svc
                .dry_run_check(&call, &header.key_id())
                .map(|_| DecryptOutput::default());
        }
        let ctx = context_of(&self.encryption_context);
        let o = svc.open_blob(&call, &blob, &header, ctx)?;
        Ok(DecryptOutput {
            key_id: o.arn,
            plaintext: encode_blob(&o.plaintext),
            encryption_algorithm: SYMMETRIC.into(),
            key_material_id: o.material_id,
        })
    }
}

impl Operation for ReEncrypt {
    type Service = Kms;
    type Output = ReEncryptOutput;
    const NAME: &'static str = "ReEncrypt";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_algorithm(
            &self.source_encryption_algorithm,
            "source encryption algorithm",
        )?;
        check_algorithm(
            &self.destination_encryption_algorithm,
            "destination encryption algorithm",
        )?;
        let (_, header) = decode_ciphertext(&self.ciphertext_blob)?;
        let source = svc.ciphertext_view(call, &header, self.source_key_id.as_deref())?;
        let dest = svc.view(call, &self.destination_key_id, true)?;
        let same = source.id == dest.id;
        let from = crypto_check(
            svc,
            call,
            "kms:ReEncryptFrom",
            source,
            context_of(&self.source_encryption_context),
        )
        .with("kms:ReEncryptOnSameKey", same);
        let to = crypto_check(
            svc,
            call,
            "kms:ReEncryptTo",
            dest,
            context_of(&self.destination_encryption_context),
        )
        .with("kms:ReEncryptOnSameKey", same);
        Ok(Authorization::all(vec![from, to]))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ReEncryptOutput, AwsError> {
        let (blob, header) = decode_ciphertext(&self.ciphertext_blob)?;
        let dest = svc.prepare_key(&call, &self.destination_key_id).await?;
        if self.dry_run == Some(true) {
            return svc
                .dry_run_check(&call, &header.key_id())
                .map(|_| ReEncryptOutput::default());
        }
        let o = svc.open_blob(
            &call,
            &blob,
            &header,
            context_of(&self.source_encryption_context),
        )?;
        let s = svc.seal(
            &call,
            &dest,
            context_of(&self.destination_encryption_context),
            &o.plaintext,
        )?;
        Ok(ReEncryptOutput {
            ciphertext_blob: s.blob,
            source_key_id: o.arn,
            key_id: s.arn,
            source_encryption_algorithm: SYMMETRIC.into(),
            destination_encryption_algorithm: SYMMETRIC.into(),
            source_key_material_id: o.material_id,
            destination_key_material_id: s.material_id,
        })
    }
}

fn data_key_len(
    key_spec: &Option<String>,
    number_of_bytes: Option<i64>,
) -> Result<usize, AwsError> {
    match (key_spec.as_deref(), number_of_bytes) {
        (Some("AES_256"), None) => Ok(32),
        (Some("AES_128"), None) => Ok(16),
        (Some(other), None) => Err(errors::value_constraint(
            other,
            "keySpec",
            "Member must satisfy enum value set: [AES_256, AES_128]",
        )),
        (None, Some(n)) if (1..=1024).contains(&n) => Ok(n as usize),
        (None, Some(n)) => Err(errors::value_constraint(
            n,
            "numberOfBytes",
            "Member must have value between 1 and 1024",
        )),
        _ => Err(errors::validation(
            "Please specify either number of bytes or key spec.",
        )),
    }
}

impl Operation for GenerateDataKey {
    type Service = Kms;
    type Output = GenerateDataKeyOutput;
    const NAME: &'static str = "GenerateDataKey";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        data_key_len(&self.key_spec, self.number_of_bytes)?;
        let v = svc.view(call, &self.key_id, true)?;
        let ctx = context_of(&self.encryption_context);
        Ok(Authorization::check(crypto_check(
            svc,
            call,
            "kms:GenerateDataKey",
            v,
            ctx,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<GenerateDataKeyOutput, AwsError> {
        let len = data_key_len(&self.key_spec, self.number_of_bytes)?;
        let id = svc.prepare_key(&call, &self.key_id).await?;
        if self.dry_run == Some(true) {
            return svc
                .dry_run_check(&call, &id)
                .map(|_| GenerateDataKeyOutput::default());
        }
        let data_key =
            crypto::random_bytes(len).map_err(|_| AwsError::internal("random source failed"))?;
        let ctx = context_of(&self.encryption_context);
        let s = svc.seal(&call, &id, ctx, &data_key)?;
        Ok(GenerateDataKeyOutput {
            ciphertext_blob: s.blob,
            plaintext: encode_blob(&data_key),
            key_id: s.arn,
            key_material_id: s.material_id,
        })
    }
}

impl Operation for GenerateDataKeyWithoutPlaintext {
    type Service = Kms;
    type Output = GenerateDataKeyWithoutPlaintextOutput;
    const NAME: &'static str = "GenerateDataKeyWithoutPlaintext";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        data_key_len(&self.key_spec, self.number_of_bytes)?;
        let v = svc.view(call, &self.key_id, true)?;
        let ctx = context_of(&self.encryption_context);
        Ok(Authorization::check(crypto_check(
            svc,
            call,
            "kms:GenerateDataKeyWithoutPlaintext",
            v,
            ctx,
        )))
    }

    async fn handle(
        self,
        svc: Arc<Kms>,
        call: Call,
    ) -> Result<GenerateDataKeyWithoutPlaintextOutput, AwsError> {
        let len = data_key_len(&self.key_spec, self.number_of_bytes)?;
        let id = svc.prepare_key(&call, &self.key_id).await?;
        if self.dry_run == Some(true) {
            return svc
                .dry_run_check(&call, &id)
                .map(|_| GenerateDataKeyWithoutPlaintextOutput::default());
        }
        let data_key =
            crypto::random_bytes(len).map_err(|_| AwsError::internal("random source failed"))?;
        let ctx = context_of(&self.encryption_context);
        let s = svc.seal(&call, &id, ctx, &data_key)?;
        Ok(GenerateDataKeyWithoutPlaintextOutput {
            ciphertext_blob: s.blob,
            key_id: s.arn,
            key_material_id: s.material_id,
        })
    }
}

impl Operation for GenerateRandom {
    type Service = Kms;
    type Output = GenerateRandomOutput;
    const NAME: &'static str = "GenerateRandom";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        if self.custom_key_store_id.is_some() {
            return Err(AwsError::bad_request(
                "CustomKeyStoreNotFoundException",
                "Custom key stores are not supported by Perimeter",
            ));
        }
        match self.number_of_bytes {
            None => return Err(errors::validation("NumberOfBytes is required.")),
            Some(n) if !(1..=1024).contains(&n) => {
                return Err(errors::value_constraint(
                    n,
                    "numberOfBytes",
                    "Member must have value between 1 and 1024",
                ));
            }
            Some(_) => {}
        }
        Ok(Authorization::check(
            svc.account_check(call, "kms:GenerateRandom"),
        ))
    }

    async fn handle(self, _svc: Arc<Kms>, _call: Call) -> Result<GenerateRandomOutput, AwsError> {
        let n = self.number_of_bytes.unwrap_or(32).clamp(1, 1024) as usize;
        let bytes =
            crypto::random_bytes(n).map_err(|_| AwsError::internal("random source failed"))?;
        Ok(GenerateRandomOutput {
            plaintext: encode_blob(&bytes),
        })
    }
}
