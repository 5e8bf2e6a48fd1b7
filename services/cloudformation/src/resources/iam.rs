//! `AWS::IAM::Role`, `Policy`, `ManagedPolicy`, `User`, `Group` and `InstanceProfile`.

use gateway::Operation;
use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, key_value_tags, put, retag};
use crate::state::ResourceRecord;

pub const ROLE: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Role",
    attributes: &["Arn", "RoleId"],
    replace: &["RoleName", "Path"],
    updatable: true,
    name_property: Some("RoleName"),
};

pub const POLICY: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Policy",
    attributes: &["Id"],
    replace: &[],
    updatable: true,
    name_property: None,
};

pub const MANAGED_POLICY: TypeInfo = TypeInfo {
    kind: "AWS::IAM::ManagedPolicy",
    attributes: &[
        "PolicyArn",
        "PolicyId",
        "DefaultVersionId",
        "AttachmentCount",
        "IsAttachable",
        "CreateDate",
        "UpdateDate",
        "Path",
        "PermissionsBoundaryUsageCount",
    ],
    replace: &["ManagedPolicyName", "Path", "Description"],
    updatable: true,
    name_property: Some("ManagedPolicyName"),
};

pub const USER: TypeInfo = TypeInfo {
    kind: "AWS::IAM::User",
    attributes: &["Arn"],
    replace: &["UserName", "Path"],
    updatable: true,
    name_property: Some("UserName"),
};

pub const GROUP: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Group",
    attributes: &["Arn"],
    replace: &["GroupName", "Path"],
    updatable: true,
    name_property: Some("GroupName"),
};

pub const INSTANCE_PROFILE: TypeInfo = TypeInfo {
    kind: "AWS::IAM::InstanceProfile",
    attributes: &["Arn"],
    replace: &["InstanceProfileName", "Path"],
    updatable: true,
    name_property: Some("InstanceProfileName"),
};

/// An inline policy of a `Policies` list.
struct Inline {
    name: String,
    document: String,
}

fn inline_policies(p: &Props<'_>) -> Result<Vec<Inline>, Failure> {
    let mut out = Vec::new();
    for o in p.objects("Policies")? {
        let name = o
            .get("PolicyName")
            .and_then(crate::template::scalar_text)
            .ok_or_else(|| p.fail("#/Policies: required key [PolicyName] not found"))?;
        let document = match o.get("PolicyDocument") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => return Err(p.fail("#/Policies: required key [PolicyDocument] not found")),
        };
        out.push(Inline { name, document });
    }
    Ok(out)
}

fn iam_tags(tags: &[(String, String)]) -> Value {
    key_value_tags(tags)
}

/// A kind of principal that holds policies: its name member and its policy operations.
trait Holder {
    /// `RoleName`, `UserName` or `GroupName`.
    const MEMBER: &'static str;
    type PutPolicy: Operation<Service = ::iam::Iam>;
    type DeletePolicy: Operation<Service = ::iam::Iam>;
    type AttachPolicy: Operation<Service = ::iam::Iam>;
    type DetachPolicy: Operation<Service = ::iam::Iam>;
    /// Deletes the principal itself.
    type Delete: Operation<Service = ::iam::Iam>;
}

/// A holder with a permissions boundary (roles and users).
trait Bounded: Holder {
    type PutBoundary: Operation<Service = ::iam::Iam>;
    type DeleteBoundary: Operation<Service = ::iam::Iam>;
}

struct RoleHolder;
struct UserHolder;
struct GroupHolder;

impl Holder for RoleHolder {
    const MEMBER: &'static str = "RoleName";
    type PutPolicy = ::iam::PutRolePolicy;
    type DeletePolicy = ::iam::DeleteRolePolicy;
    type AttachPolicy = ::iam::AttachRolePolicy;
    type DetachPolicy = ::iam::DetachRolePolicy;
    type Delete = ::iam::DeleteRole;
}

impl Bounded for RoleHolder {
    type PutBoundary = ::iam::PutRolePermissionsBoundary;
    type DeleteBoundary = ::iam::DeleteRolePermissionsBoundary;
}

impl Holder for UserHolder {
    const MEMBER: &'static str = "UserName";
    type PutPolicy = ::iam::PutUserPolicy;
    type DeletePolicy = ::iam::DeleteUserPolicy;
    type AttachPolicy = ::iam::AttachUserPolicy;
    type DetachPolicy = ::iam::DetachUserPolicy;
    type Delete = ::iam::DeleteUser;
}

impl Bounded for UserHolder {
    type PutBoundary = ::iam::PutUserPermissionsBoundary;
    type DeleteBoundary = ::iam::DeleteUserPermissionsBoundary;
}

impl Holder for GroupHolder {
    const MEMBER: &'static str = "GroupName";
    type PutPolicy = ::iam::PutGroupPolicy;
    type DeletePolicy = ::iam::DeleteGroupPolicy;
    type AttachPolicy = ::iam::AttachGroupPolicy;
    type DetachPolicy = ::iam::DetachGroupPolicy;
    type Delete = ::iam::DeleteGroup;
}

/// What a policy call does to a principal. Removals count a principal or policy already gone
/// as removed.
#[derive(Clone, Copy)]
enum Step {
    /// `Put*Policy` (`PolicyName`, `PolicyDocument`).
    Put,
    /// `Delete*Policy` (`PolicyName`).
    Delete,
    /// `Attach*Policy` (`PolicyArn`).
    Attach,
    /// `Detach*Policy` (`PolicyArn`).
    Detach,
}

/// `step` on the policies of principal `name`, with `input` plus the principal's name member.
async fn policy_call<H: Holder>(
    ctx: &Ctx<'_>,
    step: Step,
    name: &str,
    mut input: Value,
) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    input[H::MEMBER] = json!(name);
    match step {
        Step::Put => ctx.call::<H::PutPolicy>(iam, "iam", input).await.map(drop),
        Step::Delete => ctx.call_gone_ok::<H::DeletePolicy>(iam, "iam", input).await,
        Step::Attach => ctx
            .call::<H::AttachPolicy>(iam, "iam", input)
            .await
            .map(drop),
        Step::Detach => ctx.call_gone_ok::<H::DetachPolicy>(iam, "iam", input).await,
    }
}

/// The principals (`Roles`, `Users`, `Groups`) a policy resource attaches to.
struct Principals {
    roles: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
}

impl Principals {
    fn of(p: &Props<'_>) -> Result<Principals, Failure> {
        Ok(Principals {
            roles: p.strings("Roles")?,
            users: p.strings("Users")?,
            groups: p.strings("Groups")?,
        })
    }

    /// The principals of `self` that `other` does not have.
    fn minus(&self, other: &Principals) -> Principals {
        let minus = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        Principals {
            roles: minus(&self.roles, &other.roles),
            users: minus(&self.users, &other.users),
            groups: minus(&self.groups, &other.groups),
        }
    }

    fn count(&self) -> usize {
        self.roles.len() + self.users.len() + self.groups.len()
    }

    /// `step` with `input` on every role, then every user, then every group.
    async fn apply(&self, ctx: &Ctx<'_>, step: Step, input: Value) -> Result<(), Failure> {
        for r in &self.roles {
            policy_call::<RoleHolder>(ctx, step, &name_of(r), input.clone()).await?;
        }
        for u in &self.users {
            policy_call::<UserHolder>(ctx, step, &name_of(u), input.clone()).await?;
        }
        for g in &self.groups {
            policy_call::<GroupHolder>(ctx, step, &name_of(g), input.clone()).await?;
        }
        Ok(())
    }
}

/// A role name from a name or an ARN (`Roles` may hold either).
fn name_of(s: &str) -> String {
    if s.starts_with("arn:") {
        s.rsplit('/').next().unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    match kind {
        "AWS::IAM::Role" => create_role(ctx, p).await,
        "AWS::IAM::Policy" => create_policy(ctx, p).await,
        "AWS::IAM::ManagedPolicy" => create_managed(ctx, p).await,
        "AWS::IAM::User" => create_user(ctx, p).await,
        "AWS::IAM::Group" => create_group(ctx, p).await,
        "AWS::IAM::InstanceProfile" => create_profile(ctx, p).await,
        other => Err(super::unsupported(other).into()),
    }
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let id = current.physical_id.clone().unwrap_or_default();
    match current.kind.as_str() {
        "AWS::IAM::Role" => update_role(ctx, current, &id, old, p).await,
        "AWS::IAM::Policy" => update_policy(ctx, current, old, p).await,
        "AWS::IAM::ManagedPolicy" => update_managed(ctx, current, &id, old, p).await,
        "AWS::IAM::User" => update_user(ctx, current, &id, old, p).await,
        "AWS::IAM::Group" => update_group(ctx, current, &id, old, p).await,
        "AWS::IAM::InstanceProfile" => update_profile(ctx, current, &id, old, p).await,
        other => Err(super::unsupported(other)),
    }
}

pub async fn delete(
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    p: &Props<'_>,
    current: &ResourceRecord,
) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    match kind {
        "AWS::IAM::Role" => delete_holder::<RoleHolder>(ctx, id, p).await,
        "AWS::IAM::Policy" => {
            let name = p.required("PolicyName")?;
            Principals::of(p)?
                .apply(ctx, Step::Delete, json!({"PolicyName": name}))
                .await
        }
        "AWS::IAM::ManagedPolicy" => {
            Principals::of(p)?
                .apply(ctx, Step::Detach, json!({"PolicyArn": id}))
                .await?;
            let versions = ctx
                .run::<::iam::ListPolicyVersions>(iam, "iam", json!({"PolicyArn": id}))
                .await;
            if let Ok(v) = versions {
                for version in v["Versions"].as_array().cloned().unwrap_or_default() {
                    if version["IsDefaultVersion"] == json!(false)
                        && let Some(vid) = version["VersionId"].as_str()
                    {
                        ctx.call_gone_ok::<::iam::DeletePolicyVersion>(
                            iam,
                            "iam",
                            json!({"PolicyArn": id, "VersionId": vid}),
                        )
                        .await?;
                    }
                }
            }
            ctx.call_gone_ok::<::iam::DeletePolicy>(iam, "iam", json!({"PolicyArn": id}))
                .await
        }
        "AWS::IAM::User" => {
            for g in p.strings("Groups")? {
                ctx.call_gone_ok::<::iam::RemoveUserFromGroup>(
                    iam,
                    "iam",
                    json!({"UserName": id, "GroupName": g}),
                )
                .await?;
            }
            delete_holder::<UserHolder>(ctx, id, p).await
        }
        "AWS::IAM::Group" => delete_holder::<GroupHolder>(ctx, id, p).await,
        "AWS::IAM::InstanceProfile" => {
            for r in p.strings("Roles")? {
                ctx.call_gone_ok::<::iam::RemoveRoleFromInstanceProfile>(
                    iam,
                    "iam",
                    json!({"InstanceProfileName": id, "RoleName": name_of(&r)}),
                )
                .await?;
            }
            let _ = current;
            ctx.call_gone_ok::<::iam::DeleteInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": id}),
            )
            .await
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- roles

async fn create_role(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "AssumeRolePolicyDocument",
        "Description",
        "ManagedPolicyArns",
        "MaxSessionDuration",
        "Path",
        "PermissionsBoundary",
        "Policies",
        "RoleName",
        "Tags",
    ])?;
    let trust = p.required_document("AssumeRolePolicyDocument")?;
    let name = ctx.name_or_generated(p, "RoleName", 64)?;
    let inline = inline_policies(p)?;
    let managed = p.strings("ManagedPolicyArns")?;
    let mut input = Map::new();
    input.insert("RoleName".into(), json!(name));
    input.insert("AssumeRolePolicyDocument".into(), json!(trust));
    put(&mut input, "Path", p.str("Path")?);
    put(&mut input, "Description", p.str("Description")?);
    put(
        &mut input,
        "MaxSessionDuration",
        p.int("MaxSessionDuration")?,
    );
    put(
        &mut input,
        "PermissionsBoundary",
        p.str("PermissionsBoundary")?,
    );
    let tags = ctx.tags(p, "Tags")?;
    if !tags.is_empty() {
        input.insert("Tags".into(), iam_tags(&tags));
    }
    let iam = &ctx.svc.iam;
    let out = ctx
        .call::<::iam::CreateRole>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone())
        .attr("Arn", out["Role"]["Arn"].clone())
        .attr("RoleId", out["Role"]["RoleId"].clone());
    let rest = async {
        for i in inline {
            ctx.call::<::iam::PutRolePolicy>(
                iam,
                "iam",
                json!({"RoleName": name, "PolicyName": i.name, "PolicyDocument": i.document}),
            )
            .await?;
        }
        for arn in managed {
            ctx.call::<::iam::AttachRolePolicy>(
                iam,
                "iam",
                json!({"RoleName": name, "PolicyArn": arn}),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    finish(created, rest)
}

/// Puts and deletes inline policies, attaches and detaches managed policies, going from
/// `old` to `new`, for the principal `name`.
async fn sync_policies<H: Holder>(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> Result<(), Failure> {
    let old_inline = inline_policies(old)?;
    let new_inline = inline_policies(new)?;
    for i in &new_inline {
        let same = old_inline
            .iter()
            .any(|o| o.name == i.name && o.document == i.document);
        if !same {
            let input = json!({"PolicyName": i.name, "PolicyDocument": i.document});
            policy_call::<H>(ctx, Step::Put, name, input).await?;
        }
    }
    for o in &old_inline {
        if !new_inline.iter().any(|i| i.name == o.name) {
            policy_call::<H>(ctx, Step::Delete, name, json!({"PolicyName": o.name})).await?;
        }
    }
    let old_managed = old.strings("ManagedPolicyArns")?;
    let new_managed = new.strings("ManagedPolicyArns")?;
    for arn in &new_managed {
        if !old_managed.contains(arn) {
            policy_call::<H>(ctx, Step::Attach, name, json!({"PolicyArn": arn})).await?;
        }
    }
    for arn in &old_managed {
        if !new_managed.contains(arn) {
            policy_call::<H>(ctx, Step::Detach, name, json!({"PolicyArn": arn})).await?;
        }
    }
    Ok(())
}

/// No properties: what a principal had before it was created, or has once it is deleted.
fn no_props<'a>(ctx: &Ctx<'a>) -> Props<'a> {
    Props::new(ctx.logical_id, "", &Value::Null)
}

/// Deletes a role, user or group: its inline policies and managed policy attachments first.
async fn delete_holder<H: Holder>(ctx: &Ctx<'_>, name: &str, p: &Props<'_>) -> Result<(), Failure> {
    sync_policies::<H>(ctx, name, p, &no_props(ctx)).await?;
    let member = H::MEMBER;
    ctx.call_gone_ok::<H::Delete>(&ctx.svc.iam, "iam", json!({member: name}))
        .await
}

/// Puts or deletes the permissions boundary of principal `name`, going from `old` to `new`.
async fn sync_boundary<H: Bounded>(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    let member = H::MEMBER;
    match (
        old.str("PermissionsBoundary")?,
        new.str("PermissionsBoundary")?,
    ) {
        (a, Some(b)) if a.as_deref() != Some(b.as_str()) => {
            ctx.call::<H::PutBoundary>(iam, "iam", json!({member: name, "PermissionsBoundary": b}))
                .await?;
        }
        (Some(_), None) => {
            ctx.call::<H::DeleteBoundary>(iam, "iam", json!({member: name}))
                .await?;
        }
        _ => {}
    }
    Ok(())
}

async fn update_role(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let trust = p.required_document("AssumeRolePolicyDocument")?;
    if old.document("AssumeRolePolicyDocument")?.as_deref() != Some(trust.as_str()) {
        ctx.call::<::iam::UpdateAssumeRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name, "PolicyDocument": trust}),
        )
        .await?;
    }
    if old.str("Description")? != p.str("Description")?
        || old.int("MaxSessionDuration")? != p.int("MaxSessionDuration")?
    {
        let mut input = Map::new();
        input.insert("RoleName".into(), json!(name));
        input.insert(
            "Description".into(),
            json!(p.str("Description")?.unwrap_or_default()),
        );
        input.insert(
            "MaxSessionDuration".into(),
            json!(p.int("MaxSessionDuration")?.unwrap_or(3600)),
        );
        ctx.call::<::iam::UpdateRole>(iam, "iam", Value::Object(input))
            .await?;
    }
    sync_boundary::<RoleHolder>(ctx, name, old, p).await?;
    sync_policies::<RoleHolder>(ctx, name, old, p).await?;
    retag::<::iam::UntagRole, ::iam::TagRole>(
        ctx,
        iam,
        "iam",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"RoleName": name, "TagKeys": keys}),
        |tags| json!({"RoleName": name, "Tags": iam_tags(tags)}),
    )
    .await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- inline policies

async fn create_policy(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["PolicyName", "PolicyDocument", "Roles", "Users", "Groups"])?;
    let name = p.required("PolicyName")?;
    let document = p.required_document("PolicyDocument")?;
    let who = Principals::of(p)?;
    if who.roles.is_empty() && who.users.is_empty() && who.groups.is_empty() {
        return Err(p
            .fail("#: at least one of [Roles, Users, Groups] is required")
            .into());
    }
    let id = format!(
        "{}-{}",
        ctx.stack_name.chars().take(5).collect::<String>(),
        crate::random_suffix(13)
    );
    let created = Created::new(id.clone()).attr("Id", id);
    let rest = who
        .apply(
            ctx,
            Step::Put,
            json!({"PolicyName": name, "PolicyDocument": document}),
        )
        .await;
    finish(created, rest)
}

async fn update_policy(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let old_name = old.required("PolicyName")?;
    let name = p.required("PolicyName")?;
    let document = p.required_document("PolicyDocument")?;
    let was = Principals::of(old)?;
    let now = Principals::of(p)?;
    if old_name != name {
        was.apply(ctx, Step::Delete, json!({"PolicyName": old_name}))
            .await?;
    } else {
        was.minus(&now)
            .apply(ctx, Step::Delete, json!({"PolicyName": name}))
            .await?;
    }
    now.apply(
        ctx,
        Step::Put,
        json!({"PolicyName": name, "PolicyDocument": document}),
    )
    .await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- managed policies

fn managed_created(out: &Value) -> Created {
    let p = &out["Policy"];
    let arn = p["Arn"].as_str().unwrap_or_default().to_string();
    Created::new(arn.clone())
        .attr("PolicyArn", arn)
        .attr("PolicyId", p["PolicyId"].clone())
        .attr("DefaultVersionId", p["DefaultVersionId"].clone())
        .attr(
            "AttachmentCount",
            json!(p["AttachmentCount"].as_u64().unwrap_or(0).to_string()),
        )
        .attr(
            "IsAttachable",
            json!(p["IsAttachable"].as_bool().unwrap_or(true).to_string()),
        )
        .attr("Path", p["Path"].clone())
        .attr("CreateDate", p["CreateDate"].clone())
        .attr("UpdateDate", p["UpdateDate"].clone())
        .attr("PermissionsBoundaryUsageCount", json!("0"))
}

async fn create_managed(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "ManagedPolicyName",
        "Description",
        "Path",
        "PolicyDocument",
        "Roles",
        "Users",
        "Groups",
    ])?;
    let name = ctx.name_or_generated(p, "ManagedPolicyName", 128)?;
    let mut input = Map::new();
    input.insert("PolicyName".into(), json!(name));
    input.insert(
        "PolicyDocument".into(),
        json!(p.required_document("PolicyDocument")?),
    );
    put(&mut input, "Path", p.str("Path")?);
    put(&mut input, "Description", p.str("Description")?);
    let out = ctx
        .call::<::iam::CreatePolicy>(&ctx.svc.iam, "iam", Value::Object(input))
        .await?;
    let mut created = managed_created(&out);
    let who = Principals::of(p)?;
    created
        .attributes
        .insert("AttachmentCount".into(), json!(who.count().to_string()));
    let rest = who
        .apply(ctx, Step::Attach, json!({"PolicyArn": created.physical_id}))
        .await;
    finish(created, rest)
}

async fn update_managed(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    arn: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let mut created = super::unchanged(current);
    let document = p.required_document("PolicyDocument")?;
    if old.document("PolicyDocument")?.as_deref() != Some(document.as_str()) {
        // IAM keeps five versions: drop the oldest non-default one first.
        if let Ok(list) = ctx
            .run::<::iam::ListPolicyVersions>(iam, "iam", json!({"PolicyArn": arn}))
            .await
        {
            let versions = list["Versions"].as_array().cloned().unwrap_or_default();
            if versions.len() >= 5
                && let Some(oldest) = versions
                    .iter()
                    .filter(|v| v["IsDefaultVersion"] == json!(false))
                    .min_by_key(|v| v["CreateDate"].as_u64().unwrap_or(0))
                && let Some(vid) = oldest["VersionId"].as_str()
            {
                ctx.call::<::iam::DeletePolicyVersion>(
                    iam,
                    "iam",
                    json!({"PolicyArn": arn, "VersionId": vid}),
                )
                .await?;
            }
        }
        let out = ctx
            .call::<::iam::CreatePolicyVersion>(
                iam,
                "iam",
                json!({"PolicyArn": arn, "PolicyDocument": document, "SetAsDefault": true}),
            )
            .await?;
        created.attributes.insert(
            "DefaultVersionId".into(),
            out["PolicyVersion"]["VersionId"].clone(),
        );
    }
    let was = Principals::of(old)?;
    let now = Principals::of(p)?;
    now.minus(&was)
        .apply(ctx, Step::Attach, json!({"PolicyArn": arn}))
        .await?;
    was.minus(&now)
        .apply(ctx, Step::Detach, json!({"PolicyArn": arn}))
        .await?;
    created
        .attributes
        .insert("AttachmentCount".into(), json!(now.count().to_string()));
    Ok(created)
}

// ---------------------------------------------------------------- users and groups

async fn create_user(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "UserName",
        "Path",
        "Groups",
        "ManagedPolicyArns",
        "Policies",
        "PermissionsBoundary",
        "Tags",
    ])?;
    let iam = &ctx.svc.iam;
    let name = ctx.name_or_generated(p, "UserName", 64)?;
    let mut input = Map::new();
    input.insert("UserName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    put(
        &mut input,
        "PermissionsBoundary",
        p.str("PermissionsBoundary")?,
    );
    let tags = ctx.tags(p, "Tags")?;
    if !tags.is_empty() {
        input.insert("Tags".into(), iam_tags(&tags));
    }
    let out = ctx
        .call::<::iam::CreateUser>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["User"]["Arn"].clone());
    let rest = async {
        for g in p.strings("Groups")? {
            ctx.call::<::iam::AddUserToGroup>(
                iam,
                "iam",
                json!({"UserName": name, "GroupName": g}),
            )
            .await?;
        }
        sync_policies::<UserHolder>(ctx, &name, &no_props(ctx), p).await
    }
    .await;
    finish(created, rest)
}

async fn update_user(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let was = old.strings("Groups")?;
    let now = p.strings("Groups")?;
    for g in now.iter().filter(|g| !was.contains(g)) {
        ctx.call::<::iam::AddUserToGroup>(iam, "iam", json!({"UserName": name, "GroupName": g}))
            .await?;
    }
    for g in was.iter().filter(|g| !now.contains(g)) {
        ctx.call_gone_ok::<::iam::RemoveUserFromGroup>(
            iam,
            "iam",
            json!({"UserName": name, "GroupName": g}),
        )
        .await?;
    }
    sync_boundary::<UserHolder>(ctx, name, old, p).await?;
    sync_policies::<UserHolder>(ctx, name, old, p).await?;
    retag::<::iam::UntagUser, ::iam::TagUser>(
        ctx,
        iam,
        "iam",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"UserName": name, "TagKeys": keys}),
        |tags| json!({"UserName": name, "Tags": iam_tags(tags)}),
    )
    .await?;
    Ok(super::unchanged(current))
}

async fn create_group(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["GroupName", "Path", "ManagedPolicyArns", "Policies"])?;
    let name = ctx.name_or_generated(p, "GroupName", 128)?;
    let mut input = Map::new();
    input.insert("GroupName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    let out = ctx
        .call::<::iam::CreateGroup>(&ctx.svc.iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["Group"]["Arn"].clone());
    let rest = sync_policies::<GroupHolder>(ctx, &name, &no_props(ctx), p).await;
    finish(created, rest)
}

async fn update_group(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    sync_policies::<GroupHolder>(ctx, name, old, p).await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- instance profiles

async fn create_profile(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["InstanceProfileName", "Path", "Roles"])?;
    let roles = p.strings("Roles")?;
    if roles.len() != 1 {
        return Err(p.fail("#/Roles: expected exactly 1 role").into());
    }
    let name = ctx.name_or_generated(p, "InstanceProfileName", 128)?;
    let mut input = Map::new();
    input.insert("InstanceProfileName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    let iam = &ctx.svc.iam;
    let out = ctx
        .call::<::iam::CreateInstanceProfile>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["InstanceProfile"]["Arn"].clone());
    let rest = async {
        for r in roles {
            ctx.call::<::iam::AddRoleToInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(&r)}),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    finish(created, rest)
}

async fn update_profile(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let was = old.strings("Roles")?;
    let now = p.strings("Roles")?;
    if now.len() != 1 {
        return Err(p.fail("#/Roles: expected exactly 1 role"));
    }
    if was != now {
        for r in &was {
            ctx.call_gone_ok::<::iam::RemoveRoleFromInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(r)}),
            )
            .await?;
        }
        for r in &now {
            ctx.call::<::iam::AddRoleToInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(r)}),
            )
            .await?;
        }
    }
    Ok(super::unchanged(current))
}
