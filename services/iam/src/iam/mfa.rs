//! Virtual MFA devices: created with a random seed, enabled for a user with two
//! consecutive TOTP codes (RFC 6238), then used by `sts:GetSessionToken` and
//! `sts:AssumeRole`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::{Authorization, AwsError, Call, Check, IdentityType};
use serde::{Deserialize, Serialize};

use super::{now, requesting, tagged};
use crate::names::{
    self, Tag, already_exists, check_name, check_path, delete_conflict, no_such_entity,
};
use crate::state::{MfaDevice, Secret};
use crate::wire::{Empty, paginate};
use crate::{Iam, crypto};

/// How many 30-second steps before and after now a code is accepted.
pub(crate) const SESSION_WINDOW: u64 = 1;
/// `EnableMFADevice` accepts a pair of codes generated up to this many steps ago.
const ENABLE_WINDOW: u64 = 4;

fn invalid_code() -> AwsError {
    AwsError::new(
        "InvalidAuthenticationCode",
        403,
        "Authentication code for device is not valid.",
    )
}

fn no_such_device(serial: &str) -> AwsError {
    no_such_entity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

fn mfa_user(name: &Option<String>, call: &Call) -> Result<String, AwsError> {
    if let Some(n) = name {
        return Ok(n.clone());
    }
    match (call.caller.kind, &call.caller.user_name) {
        (IdentityType::IamUser, Some(u)) => Ok(u.clone()),
        _ => Err(names::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

impl Iam {
    /// Checks `code` against the MFA device `serial` enabled for `user` in `account` and
    /// returns the time step it matched. Fails with `AccessDenied` as STS does.
    pub(crate) fn verify_mfa(
        &self,
        account: &str,
        user: Option<&str>,
        serial: &str,
        code: &str,
        now: u64,
    ) -> Result<u64, AwsError> {
        let denied = || {
            AwsError::new(
                "AccessDenied",
                403,
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
            )
        };
        self.read(|st| {
            let acct = st.account(account).map_err(|_| denied())?;
            let device = acct.mfa_by_serial(serial).ok_or_else(denied)?;
            let owner = device.user.as_deref().ok_or_else(denied)?;
            match user {
                Some(u) if owner.eq_ignore_ascii_case(u) => {}
                _ => return Err(denied()),
            }
            let seed = device.seed_bytes().ok_or_else(denied)?;
            crypto::totp_find(&seed, crypto::totp_step(now), SESSION_WINDOW, code)
                .ok_or_else(denied)
        })
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateVirtualMFADevice {
    pub path: Option<String>,
    #[serde(rename = "VirtualMFADeviceName")]
    pub virtual_mfa_device_name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VirtualMfaDeviceOut {
    pub serial_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base32_string_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::wire::UserOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_date: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct CreateVirtualMfaDeviceResponse {
    #[serde(rename = "VirtualMFADevice")]
    pub virtual_mfa_device: VirtualMfaDeviceOut,
}

impl CreateVirtualMFADevice {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.virtual_mfa_device_name, "virtualMFADeviceName", 226)?;
        let path = check_path(self.path.as_deref(), "path")?;
        names::check_tags(&self.tags)?;
        let arn = names::iam_arn(call.account(), "mfa", &path, &self.virtual_mfa_device_name);
        Ok(Authorization::check(requesting(
            Check::new("iam:CreateVirtualMFADevice", arn),
            &self.tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<CreateVirtualMfaDeviceResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_path(self.path.as_deref(), "path")?;
        let created = now(call);
        let base32 = crypto::base32_encode(&crypto::totp_seed());
        let seed = Secret::wrap(
            svc.keyring(),
            &base32,
            &MfaDevice::aad(&account, &self.virtual_mfa_device_name),
        )
        .map_err(AwsError::internal)?;
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let key = self.virtual_mfa_device_name.to_lowercase();
            if acct.mfa.contains_key(&key) {
                return Err(already_exists(
                    "MFADevice entity at the same path and name already exists.",
                ));
            }
            let d = MfaDevice {
                account: account.clone(),
                name: self.virtual_mfa_device_name,
                path,
                seed,
                created,
                user: None,
                enabled: None,
                tags: self.tags,
            };
            batch.put(&d);
            let out = VirtualMfaDeviceOut {
                serial_number: d.serial(),
                // The model's blob: base64 of the Base32 text, which clients decode back to it.
                base32_string_seed: Some(STANDARD.encode(d.seed.plain.as_bytes())),
                user: None,
                enable_date: None,
                tags: d.tags.clone(),
            };
            acct.mfa.insert(key, d);
            Ok(CreateVirtualMfaDeviceResponse {
                virtual_mfa_device: out,
            })
        })
        .await
    }
}
operation!(CreateVirtualMFADevice -> CreateVirtualMfaDeviceResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableMFADevice {
    pub user_name: String,
    pub serial_number: String,
    pub authentication_code1: String,
    pub authentication_code2: String,
}

impl EnableMFADevice {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.user_target(call, &self.user_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:EnableMFADevice", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let at = now(call);
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let user_name = acct.user(&self.user_name)?.name.clone();
            let d = acct
                .mfa_by_serial_mut(&self.serial_number)
                .ok_or_else(|| no_such_device(&self.serial_number))?;
            if d.user.is_some() {
                return Err(already_exists("MFA Device is already in use."));
            }
            let seed = d.seed_bytes().ok_or_else(invalid_code)?;
            let step = crypto::totp_step(at);
            let first = step.saturating_sub(ENABLE_WINDOW);
            let ok = (first..=step + 1).any(|s| {
                crypto::totp_matches(&seed, s, &self.authentication_code1)
                    && crypto::totp_matches(&seed, s + 1, &self.authentication_code2)
            });
            if !ok {
                return Err(invalid_code());
            }
            d.user = Some(user_name);
            d.enabled = Some(at);
            batch.put(&*d);
            Ok(Empty {})
        })
        .await
    }
}
operation!(EnableMFADevice -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMFADevices {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MfaDeviceOut {
    pub user_name: String,
    pub serial_number: String,
    pub enable_date: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMfaDevicesResponse {
    #[serde(rename = "MFADevices")]
    pub mfa_devices: Vec<MfaDeviceOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListMFADevices {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = mfa_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListMFADevices", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListMfaDevicesResponse, AwsError> {
        let user = mfa_user(&self.user_name, call)?;
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let user = acct.user(&user)?;
            let items: Vec<MfaDeviceOut> = acct
                .mfa
                .values()
                .filter(|d| {
                    d.user
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&user.name))
                })
                .map(|d| MfaDeviceOut {
                    user_name: user.name.clone(),
                    serial_number: d.serial(),
                    enable_date: d.enabled.unwrap_or(d.created),
                })
                .collect();
            let page = paginate(items, self.marker.as_deref(), self.max_items)?;
            Ok(ListMfaDevicesResponse {
                mfa_devices: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListMFADevices -> ListMfaDevicesResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeactivateMFADevice {
    pub user_name: Option<String>,
    pub serial_number: String,
}

impl DeactivateMFADevice {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = mfa_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeactivateMFADevice", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let user = mfa_user(&self.user_name, call)?;
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let user_name = acct.user(&user)?.name.clone();
            let d = acct
                .mfa_by_serial_mut(&self.serial_number)
                .filter(|d| {
                    d.user
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&user_name))
                })
                .ok_or_else(|| {
                    no_such_entity(format!(
                        "MFA Device with serial number {} does not exist.",
                        self.serial_number
                    ))
                })?;
            d.user = None;
            d.enabled = None;
            batch.put(&*d);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeactivateMFADevice -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteVirtualMFADevice {
    pub serial_number: String,
}

impl DeleteVirtualMFADevice {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:DeleteVirtualMFADevice",
            self.serial_number.clone(),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let d = acct
                .mfa_by_serial(&self.serial_number)
                .ok_or_else(|| no_such_device(&self.serial_number))?;
            if d.user.is_some() {
                return Err(delete_conflict(
                    "MFA VirtualDevice in use. Must deactivate first.",
                ));
            }
            let key = crate::state::entity_key(&account, &d.name);
            let name = d.name.to_lowercase();
            batch.delete::<MfaDevice>(&key);
            acct.mfa.remove(&name);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteVirtualMFADevice -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVirtualMFADevices {
    pub assignment_status: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVirtualMfaDevicesResponse {
    #[serde(rename = "VirtualMFADevices")]
    pub virtual_mfa_devices: Vec<VirtualMfaDeviceOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListVirtualMFADevices {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListVirtualMFADevices",
            super::list_resource(call, "mfa", &None),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListVirtualMfaDevicesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let status = self.assignment_status.as_deref().unwrap_or("Any");
            let items: Vec<VirtualMfaDeviceOut> = acct
                .mfa
                .values()
                .filter(|d| match status {
                    "Assigned" => d.user.is_some(),
                    "Unassigned" => d.user.is_none(),
                    _ => true,
                })
                .map(|d| VirtualMfaDeviceOut {
                    serial_number: d.serial(),
                    base32_string_seed: None,
                    user: d
                        .user
                        .as_deref()
                        .and_then(|u| acct.user(u).ok())
                        .map(|u| crate::wire::UserOut::from(u, false)),
                    enable_date: d.enabled,
                    tags: d.tags.clone(),
                })
                .collect();
            let page = paginate(items, self.marker.as_deref(), self.max_items)?;
            Ok(ListVirtualMfaDevicesResponse {
                virtual_mfa_devices: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListVirtualMFADevices -> ListVirtualMfaDevicesResponse);
