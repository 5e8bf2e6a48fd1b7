//! Rotation: automatic (EnableKeyRotation) and on demand. Each rotation adds a material version;
//! ciphertexts name the version that sealed them, so old ones still decrypt.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Operation};

use crate::api::*;
use crate::errors;
use crate::records::Rotation;
use crate::state::Key;
use crate::{Kms, paginate};

/// The most on-demand rotations a key may have.
const MAX_ON_DEMAND: usize = 10;

fn customer_managed(k: &Key, what: &str) -> Result<(), AwsError> {
    if k.rec.manager == "AWS" {
        return Err(errors::unsupported(format!(
            "{} is an AWS managed key: {what} is not supported.",
            k.arn()
        )));
    }
    Ok(())
}

impl Operation for EnableKeyRotation {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "EnableKeyRotation";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(
            svc.key_check(call, "kms:EnableKeyRotation", &v).with(
                "kms:RotationPeriodInDays",
                self.rotation_period_in_days.unwrap_or(365),
            ),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let period = self.rotation_period_in_days.unwrap_or(365);
        if !(90..=2560).contains(&period) {
            return Err(errors::value_constraint(
                period,
                "rotationPeriodInDays",
                "Member must have value between 90 and 2560",
            ));
        }
        let period = period as u32;
        svc.update_key(&call, &self.key_id, false, move |k, _, now| {
            k.usable()?;
            customer_managed(k, "EnableKeyRotation")?;
            k.rec.rotation = Some(Rotation {
                period_days: period,
                next: now + f64::from(period) * 86400.0,
            });
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for DisableKeyRotation {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "DisableKeyRotation";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(svc.key_check(
            call,
            "kms:DisableKeyRotation",
            &v,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        svc.update_key(&call, &self.key_id, false, |k, _, _| {
            k.usable()?;
            customer_managed(k, "DisableKeyRotation")?;
            k.rec.rotation = None;
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for GetKeyRotationStatus {
    type Service = Kms;
    type Output = GetKeyRotationStatusOutput;
    const NAME: &'static str = "GetKeyRotationStatus";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(svc.key_check(
            call,
            "kms:GetKeyRotationStatus",
            &v,
        )))
    }

    async fn handle(
        self,
        svc: Arc<Kms>,
        call: Call,
    ) -> Result<GetKeyRotationStatusOutput, AwsError> {
        svc.with_key(&call, &self.key_id, false, |_, k| {
            let r = k.rec.rotation.as_ref();
            Ok(GetKeyRotationStatusOutput {
                key_rotation_enabled: r.is_some(),
                key_id: k.arn(),
                rotation_period_in_days: r.map(|r| r.period_days),
                next_rotation_date: r.map(|r| r.next),
                on_demand_rotation_start_date: k.rec.on_demand_started,
            })
        })
    }
}

impl Operation for RotateKeyOnDemand {
    type Service = Kms;
    type Output = KeyIdOutput;
    const NAME: &'static str = "RotateKeyOnDemand";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(svc.key_check(
            call,
            "kms:RotateKeyOnDemand",
            &v,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<KeyIdOutput, AwsError> {
        svc.update_key(&call, &self.key_id, false, |k, keyring, now| {
            k.usable()?;
            customer_managed(k, "RotateKeyOnDemand")?;
            let done = k
                .rec
                .materials
                .iter()
                .filter(|m| m.rotation_type.as_deref() == Some("ON_DEMAND"))
                .count();
            if done >= MAX_ON_DEMAND {
                return Err(errors::limit(format!(
                    "{} has reached the maximum number of on-demand rotations ({MAX_ON_DEMAND}).",
                    k.arn()
                )));
            }
            k.add_material(keyring, now, Some("ON_DEMAND"))?;
            k.rec.on_demand_started = Some(now);
            Ok(KeyIdOutput {
                key_id: k.rec.id.clone(),
            })
        })
        .await
    }
}

impl Operation for ListKeyRotations {
    type Service = Kms;
    type Output = ListKeyRotationsOutput;
    const NAME: &'static str = "ListKeyRotations";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(svc.key_check(
            call,
            "kms:ListKeyRotations",
            &v,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListKeyRotationsOutput, AwsError> {
        let all = self.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
        let items = svc.with_key(&call, &self.key_id, false, |_, k| {
            let current = k.rec.current_material().map(|m| m.version);
            let arn = k.arn();
            Ok(k.rec
                .materials
                .iter()
                .filter(|m| all || m.rotation_type.is_some())
                .map(|m| {
                    (
                        format!("{:010}", m.version),
                        RotationsListEntry {
                            key_id: arn.clone(),
                            key_material_id: m.material_id.clone(),
                            key_material_state: if Some(m.version) == current {
                                "CURRENT".into()
                            } else {
                                "NON_CURRENT".into()
                            },
                            rotation_date: m.rotation_type.as_ref().map(|_| m.created),
                            rotation_type: m.rotation_type.clone(),
                        },
                    )
                })
                .collect::<Vec<_>>())
        })?;
        let (rotations, next) = paginate(items, self.marker.as_deref(), self.limit, 100)?;
        Ok(ListKeyRotationsOutput {
            rotations,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}
