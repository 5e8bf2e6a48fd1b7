//! `CreateTags`, `DeleteTags` and `DescribeTags` over every taggable resource.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Batch;

use crate::filter::{self, Filter, Filterable};
use crate::model::Tag;
use crate::{Account, Ec2, check_tags, kind_of, not_found, operation};

/// Runs `f` on the tags of resource `id` and queues its record.
fn with_tags(
    a: &mut Account,
    batch: &mut Batch,
    id: &str,
    f: impl FnOnce(&mut Vec<Tag>) -> Result<(), AwsError>,
) -> Result<(), AwsError> {
    macro_rules! go {
        ($map:ident) => {{
            let r = a.$map.get_mut(id).ok_or_else(|| not_found(id))?;
            f(&mut r.tags)?;
            batch.put(&*r);
        }};
    }
    match kind_of(id) {
        Some("vpc") => go!(vpcs),
        Some("subnet") => go!(subnets),
        Some("security-group") => go!(groups),
        Some("route-table") => go!(route_tables),
        Some("internet-gateway") => go!(igws),
        Some("natgateway") => go!(nats),
        Some("network-acl") => go!(acls),
        Some("vpc-endpoint") => go!(endpoints),
        Some("vpc-flow-log") => go!(flow_logs),
        Some("security-group-rule") => {
            let g = a
                .groups
                .values_mut()
                .find(|g| g.rules.iter().any(|r| r.id == id))
                .ok_or_else(|| not_found(id))?;
            if let Some(r) = g.rules.iter_mut().find(|r| r.id == id) {
                f(&mut r.tags)?;
            }
            batch.put(&*g);
        }
        _ => return Err(not_found(id)),
    }
    Ok(())
}

/// Every (resource id, resource type, tag) of an account.
fn all_tags(a: &Account) -> Vec<(String, &'static str, Tag)> {
    let mut out = Vec::new();
    macro_rules! add {
        ($map:ident, $kind:literal) => {
            for r in a.$map.values() {
                for t in &r.tags {
                    out.push((r.id.clone(), $kind, t.clone()));
                }
            }
        };
    }
    add!(vpcs, "vpc");
    add!(subnets, "subnet");
    add!(groups, "security-group");
    add!(route_tables, "route-table");
    add!(igws, "internet-gateway");
    add!(nats, "natgateway");
    add!(acls, "network-acl");
    add!(endpoints, "vpc-endpoint");
    add!(flow_logs, "vpc-flow-log");
    for g in a.groups.values() {
        for r in &g.rules {
            for t in &r.tags {
                out.push((r.id.clone(), "security-group-rule", t.clone()));
            }
        }
    }
    out.sort_by(|x, y| (&x.0, &x.2.key).cmp(&(&y.0, &y.2.key)));
    out
}

/// `CreateTags`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTags {
    pub resources: Vec<String>,
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateTags {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        check_tags(&self.tags)?;
        let pairs: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        let checks = self
            .resources
            .iter()
            .map(|id| {
                svc.on("ec2:CreateTags", call.account(), id)
                    .request_tags(&pairs, None)
            })
            .collect();
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            for id in &self.resources {
                with_tags(a, batch, id, |tags| {
                    let mut next = tags.clone();
                    for t in &self.tags {
                        match next.iter_mut().find(|x| x.key == t.key) {
                            Some(x) => x.value = t.value.clone(),
                            None => next.push(t.clone()),
                        }
                    }
                    check_tags(&next)?;
                    *tags = next;
                    Ok(())
                })?;
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(CreateTags);

/// A tag to delete: without a value, whatever its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagToDelete {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `DeleteTags`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteTags {
    pub resources: Vec<String>,
    #[serde(default)]
    pub tags: Option<Vec<TagToDelete>>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteTags {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let mut checks = Vec::new();
        for id in &self.resources {
            let mut c = svc.on("ec2:DeleteTags", call.account(), id);
            let keys: Vec<String> = match &self.tags {
                Some(t) => t.iter().map(|t| t.key.clone()).collect(),
                None => svc
                    .facts(call.account(), id)
                    .0
                    .into_iter()
                    .map(|t| t.key)
                    .collect(),
            };
            if let Some(t) = &self.tags {
                for t in t {
                    if let Some(v) = &t.value {
                        c = c.with(format!("aws:RequestTag/{}", t.key), v.clone());
                    }
                }
            }
            checks.push(c.with("aws:TagKeys", keys));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            for id in &self.resources {
                with_tags(a, batch, id, |tags| {
                    match &self.tags {
                        None => tags.clear(),
                        Some(del) => tags.retain(|t| {
                            !del.iter().any(|d| {
                                d.key == t.key && d.value.as_ref().is_none_or(|v| *v == t.value)
                            })
                        }),
                    }
                    Ok(())
                })?;
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteTags);

struct TagView {
    resource_id: String,
    resource_type: &'static str,
    tag: Tag,
}

impl Filterable for TagView {
    const FILTERS: &'static [&'static str] = &["key", "value", "resource-id", "resource-type"];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "key" => vec![self.tag.key.clone()],
            "value" => vec![self.tag.value.clone()],
            "resource-id" => vec![self.resource_id.clone()],
            "resource-type" => vec![self.resource_type.to_string()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        std::slice::from_ref(&self.tag)
    }
}

/// `DescribeTags`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTags {
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeTags {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new("ec2:DescribeTags", "*")))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let views: Vec<(String, TagView)> = all_tags(st.acct(call.account()))
                .into_iter()
                .map(|(id, kind, tag)| {
                    (
                        format!("{id}/{}", tag.key),
                        TagView {
                            resource_id: id,
                            resource_type: kind,
                            tag,
                        },
                    )
                })
                .collect();
            let items = views.iter().map(|(k, v)| (k, v));
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let tags: Vec<Value> = page
                .iter()
                .map(|v| {
                    json!({
                        "Key": v.tag.key,
                        "ResourceId": v.resource_id,
                        "ResourceType": v.resource_type,
                        "Value": v.tag.value,
                    })
                })
                .collect();
            let mut out = json!({ "Tags": tags });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeTags);
