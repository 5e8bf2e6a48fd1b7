//! Output shapes as the IAM model spells them (timestamps as epoch seconds; the
//! gateway renders ISO 8601), and pagination.

use serde::{Deserialize, Serialize};

use crate::names::{self, Tag, invalid_input};
use crate::state::{Group, InstanceProfile, ManagedPolicy, PolicyVersion, Role, User};

/// An output with no members.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Empty {}

/// `AttachedPermissionsBoundary`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryOut {
    pub permissions_boundary_type: &'static str,
    pub permissions_boundary_arn: String,
}

fn boundary(arn: &Option<String>) -> Option<BoundaryOut> {
    arn.as_ref().map(|a| BoundaryOut {
        permissions_boundary_type: "PermissionsBoundaryPolicy",
        permissions_boundary_arn: a.clone(),
    })
}

/// `User`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserOut {
    pub path: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<BoundaryOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl UserOut {
    /// `full`: what `GetUser` returns (boundary and tags); lists return less.
    pub fn from(u: &User, full: bool) -> UserOut {
        UserOut {
            path: u.path.clone(),
            user_name: u.name.clone(),
            user_id: u.id.clone(),
            arn: u.arn(),
            create_date: u.created,
            permissions_boundary: if full { boundary(&u.boundary) } else { None },
            tags: if full { u.tags.clone() } else { Vec::new() },
        }
    }
}

/// `Group`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupOut {
    pub path: String,
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub create_date: u64,
}

impl GroupOut {
    pub fn from(g: &Group) -> GroupOut {
        GroupOut {
            path: g.path.clone(),
            group_name: g.name.clone(),
            group_id: g.id.clone(),
            arn: g.arn(),
            create_date: g.created,
        }
    }
}

/// `RoleLastUsed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsedOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `Role`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleOut {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: u64,
    pub assume_role_policy_document: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub max_session_duration: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<BoundaryOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_last_used: Option<RoleLastUsedOut>,
}

impl RoleOut {
    /// `full`: what `GetRole` returns (boundary, tags, last use); lists return less.
    pub fn from(r: &Role, full: bool) -> RoleOut {
        RoleOut {
            path: r.path.clone(),
            role_name: r.name.clone(),
            role_id: r.id.clone(),
            arn: r.arn(),
            create_date: r.created,
            assume_role_policy_document: names::encode_document(&r.trust.text),
            description: r.description.clone(),
            max_session_duration: r.max_session,
            permissions_boundary: if full { boundary(&r.boundary) } else { None },
            tags: if full { r.tags.clone() } else { Vec::new() },
            role_last_used: if full {
                Some(RoleLastUsedOut {
                    last_used_date: r.last_used.as_ref().map(|l| l.0),
                    region: r.last_used.as_ref().map(|l| l.1.clone()),
                })
            } else {
                None
            },
        }
    }
}

/// `Policy`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    pub attachment_count: usize,
    pub permissions_boundary_usage_count: usize,
    pub is_attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub create_date: u64,
    pub update_date: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl PolicyOut {
    /// `usage`: (attachments, boundary uses) in the caller's account. `full` adds the
    /// description and tags (`GetPolicy`).
    pub fn from(p: &ManagedPolicy, usage: (usize, usize), full: bool) -> PolicyOut {
        PolicyOut {
            policy_name: p.name.clone(),
            policy_id: p.id.clone(),
            arn: p.arn(),
            path: p.path.clone(),
            default_version_id: p.default_version.clone(),
            attachment_count: usage.0,
            permissions_boundary_usage_count: usage.1,
            is_attachable: true,
            description: if full { p.description.clone() } else { None },
            create_date: p.created,
            update_date: p.updated,
            tags: if full { p.tags.clone() } else { Vec::new() },
        }
    }
}

/// `PolicyVersion`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    pub version_id: String,
    pub is_default_version: bool,
    pub create_date: u64,
}

impl PolicyVersionOut {
    pub fn from(p: &ManagedPolicy, v: &PolicyVersion, with_document: bool) -> PolicyVersionOut {
        PolicyVersionOut {
            document: with_document.then(|| names::encode_document(&v.doc.text)),
            version_id: v.id.clone(),
            is_default_version: v.id == p.default_version,
            create_date: v.created,
        }
    }
}

/// `InstanceProfile`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceProfileOut {
    pub path: String,
    pub instance_profile_name: String,
    pub instance_profile_id: String,
    pub arn: String,
    pub create_date: u64,
    pub roles: Vec<RoleOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl InstanceProfileOut {
    pub fn from(p: &InstanceProfile, roles: Vec<RoleOut>) -> InstanceProfileOut {
        InstanceProfileOut {
            path: p.path.clone(),
            instance_profile_name: p.name.clone(),
            instance_profile_id: p.id.clone(),
            arn: p.arn(),
            create_date: p.created,
            roles,
            tags: p.tags.clone(),
        }
    }
}

/// `AttachedPolicy`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicyOut {
    pub policy_name: String,
    pub policy_arn: String,
}

impl AttachedPolicyOut {
    pub fn from_arn(arn: &str) -> AttachedPolicyOut {
        let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
        AttachedPolicyOut {
            policy_name: name,
            policy_arn: arn.to_string(),
        }
    }
}

/// `PolicyDetail` (inline policies in `GetAccountAuthorizationDetails`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDetailOut {
    pub policy_name: String,
    pub policy_document: String,
}

/// One page of a list.
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// Pages `items` with IAM's `Marker`/`MaxItems` (default 100, at most 1000).
pub fn paginate<T>(
    items: Vec<T>,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<Page<T>, gateway::AwsError> {
    let start = match marker {
        None => 0,
        Some(m) => m
            .strip_prefix("p")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| invalid_input("Invalid Marker."))?,
    };
    let max = max_items.unwrap_or(100).clamp(1, 1000) as usize;
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start + items.len();
    let is_truncated = end < total;
    Ok(Page {
        items,
        is_truncated,
        marker: is_truncated.then(|| format!("p{end}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_markers() {
        let items: Vec<u32> = (0..5).collect();
        let p = paginate(items.clone(), None, Some(2)).unwrap();
        assert_eq!(p.items, vec![0, 1]);
        assert!(p.is_truncated);
        let p2 = paginate(items.clone(), p.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(p2.items, vec![2, 3]);
        let p3 = paginate(items.clone(), p2.marker.as_deref(), Some(2)).unwrap();
        assert_eq!(p3.items, vec![4]);
        assert!(!p3.is_truncated && p3.marker.is_none());
        assert!(paginate(items, Some("garbage"), None).is_err());
    }
}
