//! Stack operations in the background: create (with rollback), update (with rollback to the
//! previous template), delete. Each runs on its own task with a working copy of the stack,
//! saving the stack record and its new events after every step, so `DescribeStacks` and
//! `DescribeStackEvents` follow along.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gateway::{Call, Identities};
use serde_json::{Map, Value, json};

use crate::graph::{self, Plan};
use crate::intrinsic::{self, Pseudo, Scope};
use crate::resources::{self, Ctx, Failure};
use crate::state::{EventRecord, OutputRecord, ResourceRecord, StackRecord, param_values};
use crate::template::{ParamValue, Template, scalar_text};
use crate::{CloudFormation, now, uuid};

/// What a background task does to a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create its resources (the stack is `CREATE_IN_PROGRESS`).
    Create,
    /// Move to the template and parameters now on the record (the stack is
    /// `UPDATE_IN_PROGRESS`, the state before in `previous`).
    Update,
    /// Delete its resources (the stack is `DELETE_IN_PROGRESS`).
    Delete,
}

/// Starts `op` on stack `stack_id` in the background, as `call`'s caller.
pub fn spawn(cfn: Arc<CloudFormation>, call: Call, stack_id: String, op: Op) {
    tokio::spawn(async move {
        let Some(stack) = cfn
            .read(|st| st.stacks.get(&stack_id).cloned())
            .ok()
            .flatten()
        else {
            return;
        };
        let mut run = Run {
            cfn,
            call: call.clone(),
            stack,
        };
        if let Some(role) = run.stack.role_arn.clone() {
            match assume_service_role(&run.cfn, &call, &role).await {
                Ok(c) => run.call = c,
                Err(reason) => {
                    run.abort(op, reason).await;
                    return;
                }
            }
        }
        match op {
            Op::Create => run.create().await,
            Op::Update => run.update().await,
            Op::Delete => run.delete().await,
        }
    });
}

/// A call as the stack's service role: CloudFormation (`cloudformation.amazonaws.com`)
/// assumes the role, and resource calls are made with that session.
async fn assume_service_role(
    cfn: &CloudFormation,
    call: &Call,
    role: &str,
) -> Result<Call, String> {
    let op: iam::AssumeRole = serde_json::from_value(json!({
        "RoleArn": role,
        "RoleSessionName": "AWSCloudFormation",
    }))
    .map_err(|e| format!("Role {role} is invalid or cannot be assumed: {e}"))?;
    let out = call
        .invoke_as_service("cloudformation.amazonaws.com", &cfn.services.iam, op, "sts")
        .await
        .map_err(|e| format!("Role {role} is invalid or cannot be assumed: {}", e.message))?;
    let out = serde_json::to_value(out).map_err(|e| e.to_string())?;
    let c = &out["Credentials"];
    let (Some(id), Some(token)) = (c["AccessKeyId"].as_str(), c["SessionToken"].as_str()) else {
        return Err(format!("Role {role} is invalid or cannot be assumed"));
    };
    let cred = cfn
        .services
        .iam
        .lookup(id, Some(token), std::time::SystemTime::now())
        .map_err(|e| format!("Role {role} is invalid or cannot be assumed: {}", e.message))?;
    Ok(call.gateway().internal_call(cred.caller, "cloudformation"))
}

/// Everything evaluation needs for one template.
pub(crate) struct Prepared {
    pub template: Template,
    pub params: BTreeMap<String, ParamValue>,
    pub pseudo: Pseudo,
    pub conditions: BTreeMap<String, bool>,
    pub plan: Plan,
}

/// Parses, evaluates conditions and orders the resources of a stack's template.
pub(crate) fn prepare(stack: &StackRecord, region: &str) -> Result<Prepared, String> {
    let template = Template::parse(&stack.template_body).map_err(|e| e.0)?;
    let params = param_values(&stack.parameters);
    let pseudo = Pseudo {
        account: stack.account.clone(),
        region: region.to_string(),
        stack_name: stack.name.clone(),
        stack_id: stack.stack_id.clone(),
        notification_arns: stack.notification_arns.clone(),
    };
    let conditions = intrinsic::conditions(&template, &params, &pseudo).map_err(|e| e.0)?;
    let plan = graph::plan(&template, &conditions, &resources::attributes).map_err(|e| e.0)?;
    Ok(Prepared {
        template,
        params,
        pseudo,
        conditions,
        plan,
    })
}

/// The stack's resources as `Ref` and `Fn::GetAtt` see them.
struct Lookup<'a> {
    stack: &'a StackRecord,
}

impl intrinsic::Resources for Lookup<'_> {
    fn reference(&self, logical_id: &str) -> Result<Value, String> {
        match self.stack.resource(logical_id) {
            Some(r) if r.physical_id.is_some() && !r.status.starts_with("DELETE") => {
                Ok(Value::String(r.physical_id.clone().unwrap_or_default()))
            }
            _ => Err(format!(
                "Template error: resource {logical_id} is not available to Ref"
            )),
        }
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Value, String> {
        let Some(r) = self
            .stack
            .resource(logical_id)
            .filter(|r| r.physical_id.is_some() && !r.status.starts_with("DELETE"))
        else {
            return Err(format!(
                "Template error: resource {logical_id} is not available to Fn::GetAtt"
            ));
        };
        r.attributes.get(attribute).cloned().ok_or_else(|| {
            format!(
                "Template error: resource {logical_id} does not support attribute type {attribute} in Fn::GetAtt"
            )
        })
    }
}

/// One undoable step of an update.
enum Step {
    /// A resource the update created.
    Created(String),
    /// A resource the update replaced (the old one, kept until cleanup).
    Replaced(ResourceRecord),
    /// A resource the update changed in place (as it was).
    Updated(ResourceRecord),
}

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

struct Run {
    cfn: Arc<CloudFormation>,
    call: Call,
    stack: StackRecord,
}

/// Hides `NoEcho` parameter values in text shown in events.
fn mask(text: String, params: &BTreeMap<String, ParamValue>) -> String {
    let mut out = text;
    for p in params.values().filter(|p| p.no_echo && !p.text.is_empty()) {
        out = out.replace(&p.text, "****");
    }
    out
}

impl Run {
    fn account(&self) -> String {
        self.stack.account.clone()
    }

    fn event(
        &mut self,
        logical_id: &str,
        physical_id: Option<String>,
        kind: &str,
        status: &str,
        reason: Option<String>,
        properties: Option<String>,
    ) -> EventRecord {
        self.stack.event_seq += 1;
        EventRecord {
            stack_id: self.stack.stack_id.clone(),
            seq: self.stack.event_seq,
            event_id: uuid(),
            stack_name: self.stack.name.clone(),
            logical_id: logical_id.to_string(),
            physical_id,
            kind: kind.to_string(),
            timestamp: now(),
            status: status.to_string(),
            reason,
            properties,
        }
    }

    /// Writes the working copy and `events` through.
    async fn save(&mut self, events: Vec<EventRecord>) {
        let stack = self.stack.clone();
        let result = self
            .cfn
            .write(move |st, batch| {
                batch.put(&stack);
                for e in &events {
                    batch.put(e);
                }
                st.events
                    .entry(stack.stack_id.clone())
                    .or_default()
                    .extend(events);
                st.stacks.insert(stack.stack_id.clone(), stack);
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(stack = %self.stack.stack_id, error = %e, "cannot save stack");
        }
    }

    /// Sets the stack status and records the stack event.
    async fn status(&mut self, status: &str, reason: Option<String>) {
        self.stack.status = status.to_string();
        self.stack.status_reason = reason.clone();
        let name = self.stack.name.clone();
        let id = self.stack.stack_id.clone();
        let e = self.event(&name, Some(id), STACK_TYPE, status, reason, None);
        self.save(vec![e]).await;
    }

    /// Ends `op` before it started (the service role could not be assumed).
    async fn abort(&mut self, op: Op, reason: String) {
        match op {
            Op::Create => {
                if self.stack.disable_rollback
                    || self.stack.on_failure.as_deref() == Some("DO_NOTHING")
                {
                    self.status("CREATE_FAILED", Some(reason)).await;
                } else {
                    self.status("ROLLBACK_IN_PROGRESS", Some(reason.clone()))
                        .await;
                    self.status("ROLLBACK_COMPLETE", None).await;
                }
            }
            Op::Update => {
                self.restore_previous();
                self.status("UPDATE_ROLLBACK_IN_PROGRESS", Some(reason))
                    .await;
                self.status("UPDATE_ROLLBACK_COMPLETE", None).await;
            }
            Op::Delete => self.status("DELETE_FAILED", Some(reason)).await,
        }
    }

    fn exports(&self) -> impl Fn(&str) -> Option<String> + '_ {
        let account = self.account();
        move |name: &str| {
            self.cfn
                .read(|st| st.export(&account, name).map(|(v, _)| v))
                .ok()
                .flatten()
        }
    }

    fn resolve(&self, prep: &Prepared, v: &Value) -> Result<Value, String> {
        let lookup = Lookup { stack: &self.stack };
        let exports = self.exports();
        let scope = Scope {
            template: &prep.template,
            params: &prep.params,
            pseudo: &prep.pseudo,
            conditions: &prep.conditions,
            resources: &lookup,
            exports: &exports,
        };
        Ok(scope
            .resolve(v)?
            .unwrap_or_else(|| Value::Object(Map::new())))
    }

    /// The outputs and imports of the template, checked against the account's exports.
    fn outputs(&self, prep: &Prepared) -> Result<(Vec<OutputRecord>, Vec<String>), String> {
        let lookup = Lookup { stack: &self.stack };
        let exports = self.exports();
        let scope = Scope {
            template: &prep.template,
            params: &prep.params,
            pseudo: &prep.pseudo,
            conditions: &prep.conditions,
            resources: &lookup,
            exports: &exports,
        };
        let text = |key: &str, v: Value| -> Result<String, String> {
            match v {
                Value::Array(items) => Ok(items
                    .iter()
                    .filter_map(scalar_text)
                    .collect::<Vec<_>>()
                    .join(",")),
                other => scalar_text(&other).ok_or_else(|| {
                    format!("Template format error: The Value of output {key} must be a string")
                }),
            }
        };
        let mut out = Vec::new();
        let mut names = BTreeSet::new();
        let account = self.account();
        for o in &prep.template.outputs {
            if let Some(c) = &o.condition
                && !prep.conditions.get(c).copied().unwrap_or(false)
            {
                continue;
            }
            let value = text(&o.key, scope.value(&o.value)?)?;
            let description = match &o.description {
                Some(d) => Some(text(&o.key, scope.value(d)?)?),
                None => None,
            };
            let export_name = match &o.export_name {
                Some(e) => {
                    let name = text(&o.key, scope.value(e)?)?;
                    if !names.insert(name.clone()) {
                        return Err(format!(
                            "Template error: export {name} is declared twice in this template"
                        ));
                    }
                    let other = self
                        .cfn
                        .read(|st| {
                            st.export(&account, &name)
                                .filter(|(_, s)| s.stack_id != self.stack.stack_id)
                                .map(|(_, s)| s.stack_id.clone())
                        })
                        .ok()
                        .flatten();
                    if let Some(other) = other {
                        return Err(format!(
                            "Export with name {name} is already exported by stack {other}"
                        ));
                    }
                    Some(name)
                }
                None => None,
            };
            out.push(OutputRecord {
                key: o.key.clone(),
                value,
                description,
                export_name,
            });
        }
        let mut imports = BTreeSet::new();
        for id in &prep.plan.order {
            if let Some(r) = prep.template.resource(id) {
                intrinsic::imports(&r.properties, Some(&scope), &mut imports);
            }
        }
        for o in &prep.template.outputs {
            intrinsic::imports(&o.value, Some(&scope), &mut imports);
        }
        Ok((out, imports.into_iter().collect()))
    }

    /// Creates resource `id`; on failure the record stays `CREATE_FAILED` (with the physical
    /// id of whatever was made, for rollback).
    async fn create_resource(&mut self, prep: &Prepared, id: &str) -> Result<(), String> {
        let Some(decl) = prep.template.resource(id).cloned() else {
            return Ok(());
        };
        let mut record = ResourceRecord {
            logical_id: id.to_string(),
            kind: decl.kind.clone(),
            physical_id: None,
            status: "CREATE_IN_PROGRESS".into(),
            status_reason: None,
            updated: now(),
            properties: Value::Object(Map::new()),
            attributes: Map::new(),
            deletion_policy: decl.deletion_policy.clone(),
            update_replace_policy: decl.update_replace_policy.clone(),
        };
        let props = self.resolve(prep, &decl.properties);
        if let Ok(p) = &props {
            record.properties = p.clone();
        }
        let shown = props
            .as_ref()
            .ok()
            .map(|p| mask(p.to_string(), &prep.params));
        match self.stack.resource_mut(id) {
            Some(r) => *r = record,
            None => self.stack.resources.push(record),
        }
        let e = self.event(id, None, &decl.kind, "CREATE_IN_PROGRESS", None, shown);
        self.save(vec![e]).await;
        let outcome = match props {
            Err(reason) => Err((None, reason)),
            Ok(_) if resources::info(&decl.kind).is_none() => {
                Err((None, resources::unsupported(&decl.kind).0))
            }
            Ok(props) => {
                let call = self.call.clone();
                let svc = self.cfn.services.clone();
                let name = self.stack.name.clone();
                let tags = self.stack.tags.clone();
                let ctx = Ctx {
                    call: &call,
                    svc: &svc,
                    stack_name: &name,
                    logical_id: id,
                    stack_tags: &tags,
                };
                resources::create(&ctx, &decl.kind, &props)
                    .await
                    .map_err(|p| (p.created, p.failure.0))
            }
        };
        match outcome {
            Ok(created) => {
                if let Some(r) = self.stack.resource_mut(id) {
                    r.physical_id = Some(created.physical_id.clone());
                    r.attributes = created.attributes;
                    r.status = "CREATE_COMPLETE".into();
                    r.updated = now();
                }
                let phys = Some(created.physical_id);
                let a = self.event(
                    id,
                    phys.clone(),
                    &decl.kind,
                    "CREATE_IN_PROGRESS",
                    Some("Resource creation Initiated".into()),
                    None,
                );
                let b = self.event(id, phys, &decl.kind, "CREATE_COMPLETE", None, None);
                self.save(vec![a, b]).await;
                Ok(())
            }
            Err((partial, reason)) => {
                let phys = partial.as_ref().map(|c| c.physical_id.clone());
                if let Some(r) = self.stack.resource_mut(id) {
                    if let Some(c) = partial {
                        r.physical_id = Some(c.physical_id);
                        r.attributes = c.attributes;
                    }
                    r.status = "CREATE_FAILED".into();
                    r.status_reason = Some(reason.clone());
                    r.updated = now();
                }
                let e = self.event(
                    id,
                    phys,
                    &decl.kind,
                    "CREATE_FAILED",
                    Some(reason.clone()),
                    None,
                );
                self.save(vec![e]).await;
                Err(reason)
            }
        }
    }

    /// The order to delete the stack's resources in: dependents first.
    fn deletion_order(&self) -> Vec<String> {
        let mut order: Vec<String> = Vec::new();
        if let Ok(prep) = prepare(&self.stack, self.cfn.region()) {
            order = prep.plan.deletion_order();
        }
        // Anything the plan does not name (left by an update, or unplannable) goes first,
        // newest first.
        let mut rest: Vec<String> = self
            .stack
            .resources
            .iter()
            .rev()
            .map(|r| r.logical_id.clone())
            .filter(|id| !order.contains(id))
            .collect();
        rest.extend(
            order
                .into_iter()
                .filter(|id| self.stack.resource(id).is_some()),
        );
        rest
    }

    /// Deletes one resource record's physical resource; `Ok(false)` when retained.
    async fn delete_one(&mut self, r: &ResourceRecord, retain: bool) -> Result<bool, String> {
        let id = r.logical_id.clone();
        if r.physical_id.is_none() {
            if let Some(rec) = self.stack.resource_mut(&id) {
                rec.status = "DELETE_COMPLETE".into();
                rec.updated = now();
            }
            let e = self.event(&id, None, &r.kind, "DELETE_COMPLETE", None, None);
            self.save(vec![e]).await;
            return Ok(true);
        }
        if retain {
            if let Some(rec) = self.stack.resource_mut(&id) {
                rec.status = "DELETE_SKIPPED".into();
                rec.updated = now();
            }
            let e = self.event(
                &id,
                r.physical_id.clone(),
                &r.kind,
                "DELETE_SKIPPED",
                None,
                None,
            );
            self.save(vec![e]).await;
            return Ok(false);
        }
        if let Some(rec) = self.stack.resource_mut(&id) {
            rec.status = "DELETE_IN_PROGRESS".into();
            rec.updated = now();
        }
        let e = self.event(
            &id,
            r.physical_id.clone(),
            &r.kind,
            "DELETE_IN_PROGRESS",
            None,
            None,
        );
        self.save(vec![e]).await;
        let result = {
            let call = self.call.clone();
            let svc = self.cfn.services.clone();
            let name = self.stack.name.clone();
            let tags = self.stack.tags.clone();
            let ctx = Ctx {
                call: &call,
                svc: &svc,
                stack_name: &name,
                logical_id: &id,
                stack_tags: &tags,
            };
            resources::delete(&ctx, r).await
        };
        match result {
            Ok(()) => {
                if let Some(rec) = self.stack.resource_mut(&id) {
                    rec.status = "DELETE_COMPLETE".into();
                    rec.status_reason = None;
                    rec.updated = now();
                }
                let e = self.event(
                    &id,
                    r.physical_id.clone(),
                    &r.kind,
                    "DELETE_COMPLETE",
                    None,
                    None,
                );
                self.save(vec![e]).await;
                Ok(true)
            }
            Err(Failure(reason)) => {
                if let Some(rec) = self.stack.resource_mut(&id) {
                    rec.status = "DELETE_FAILED".into();
                    rec.status_reason = Some(reason.clone());
                    rec.updated = now();
                }
                let e = self.event(
                    &id,
                    r.physical_id.clone(),
                    &r.kind,
                    "DELETE_FAILED",
                    Some(reason.clone()),
                    None,
                );
                self.save(vec![e]).await;
                Err(reason)
            }
        }
    }

    /// Deletes every resource of the stack; returns those that failed.
    async fn delete_all(&mut self, create_rollback: bool) -> Vec<String> {
        let mut failed = Vec::new();
        for id in self.deletion_order() {
            let Some(r) = self.stack.resource(&id).cloned() else {
                continue;
            };
            if matches!(r.status.as_str(), "DELETE_COMPLETE" | "DELETE_SKIPPED") {
                continue;
            }
            let retain = match r.deletion_policy.as_deref() {
                Some("Retain") => true,
                Some("RetainExceptOnCreate") => !create_rollback,
                _ => false,
            };
            if self.delete_one(&r, retain).await.is_err() {
                failed.push(id);
            }
        }
        failed
    }

    // ------------------------------------------------------------ create

    async fn create(&mut self) {
        let prep = match prepare(&self.stack, self.cfn.region()) {
            Ok(p) => p,
            Err(reason) => {
                self.create_failed(reason).await;
                return;
            }
        };
        for id in prep.plan.order.clone() {
            if self.create_resource(&prep, &id).await.is_err() {
                let summary = format!("The following resource(s) failed to create: [{id}]. ");
                self.create_failed(summary).await;
                return;
            }
        }
        match self.outputs(&prep) {
            Ok((outputs, imports)) => {
                self.stack.outputs = outputs;
                self.stack.imports = imports;
                self.status("CREATE_COMPLETE", None).await;
            }
            Err(reason) => self.create_failed(reason).await,
        }
    }

    async fn create_failed(&mut self, reason: String) {
        let on_failure = if self.stack.disable_rollback {
            "DO_NOTHING".to_string()
        } else {
            self.stack
                .on_failure
                .clone()
                .unwrap_or_else(|| "ROLLBACK".into())
        };
        match on_failure.as_str() {
            "DO_NOTHING" => self.status("CREATE_FAILED", Some(reason)).await,
            "DELETE" => {
                self.status("DELETE_IN_PROGRESS", Some(reason)).await;
                let failed = self.delete_all(true).await;
                self.finish_delete(failed).await;
            }
            _ => {
                let reason = if reason.ends_with(". ") {
                    format!("{reason}Rollback requested by user.")
                } else {
                    reason
                };
                self.status("ROLLBACK_IN_PROGRESS", Some(reason)).await;
                let failed = self.delete_all(true).await;
                if failed.is_empty() {
                    self.status("ROLLBACK_COMPLETE", None).await;
                } else {
                    self.status(
                        "ROLLBACK_FAILED",
                        Some(format!(
                            "The following resource(s) failed to delete: [{}]. ",
                            failed.join(", ")
                        )),
                    )
                    .await;
                }
            }
        }
    }

    // ------------------------------------------------------------ delete

    async fn delete(&mut self) {
        let account = self.account();
        let in_use: Option<(String, String)> = self
            .cfn
            .read(|st| {
                self.stack.outputs.iter().find_map(|o| {
                    let name = o.export_name.as_ref()?;
                    st.importers(&account, name)
                        .into_iter()
                        .find(|s| s.stack_id != self.stack.stack_id)
                        .map(|s| (name.clone(), s.name.clone()))
                })
            })
            .ok()
            .flatten();
        if let Some((export, user)) = in_use {
            self.status(
                "DELETE_FAILED",
                Some(format!(
                    "Export {export} cannot be deleted as it is in use by {user}"
                )),
            )
            .await;
            return;
        }
        let failed = self.delete_all(false).await;
        self.finish_delete(failed).await;
    }

    async fn finish_delete(&mut self, failed: Vec<String>) {
        if failed.is_empty() {
            self.stack.deleted = Some(now());
            self.stack.outputs.clear();
            self.stack.imports.clear();
            // The stack's change sets go with it.
            let stack_id = self.stack.stack_id.clone();
            let _ = self
                .cfn
                .write(move |st, batch| {
                    let ids: Vec<String> = st
                        .change_sets
                        .values()
                        .filter(|c| c.stack_id == stack_id)
                        .map(|c| c.id.clone())
                        .collect();
                    for id in ids {
                        st.change_sets.remove(&id);
                        batch.delete::<crate::state::ChangeSetRecord>(&id);
                    }
                    Ok(())
                })
                .await;
            self.status("DELETE_COMPLETE", None).await;
        } else {
            self.status(
                "DELETE_FAILED",
                Some(format!(
                    "The following resource(s) failed to delete: [{}]. ",
                    failed.join(", ")
                )),
            )
            .await;
        }
    }

    // ------------------------------------------------------------ update

    fn restore_previous(&mut self) {
        if let Some(prev) = self.stack.previous.take() {
            self.stack.template_body = prev.template_body;
            self.stack.parameters = prev.parameters;
            self.stack.outputs = prev.outputs;
            self.stack.imports = prev.imports;
            if let Ok(t) = Template::parse(&self.stack.template_body) {
                self.stack.description = t.description;
            }
        }
    }

    async fn update(&mut self) {
        let mut journal: Vec<Step> = Vec::new();
        let result = self.apply_update(&mut journal).await;
        match result {
            Ok(()) => {}
            Err(reason) => {
                if self.stack.disable_rollback {
                    self.stack.previous = None;
                    self.status("UPDATE_FAILED", Some(reason)).await;
                    return;
                }
                self.status("UPDATE_ROLLBACK_IN_PROGRESS", Some(reason))
                    .await;
                let ok = self.undo(journal).await;
                self.restore_previous();
                if ok {
                    self.status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None)
                        .await;
                    self.status("UPDATE_ROLLBACK_COMPLETE", None).await;
                } else {
                    self.status(
                        "UPDATE_ROLLBACK_FAILED",
                        Some("The update could not be rolled back completely".into()),
                    )
                    .await;
                }
            }
        }
    }

    async fn apply_update(&mut self, journal: &mut Vec<Step>) -> Result<(), String> {
        let prep = prepare(&self.stack, self.cfn.region())?;
        for id in prep.plan.order.clone() {
            let Some(decl) = prep.template.resource(&id).cloned() else {
                continue;
            };
            let existing = self
                .stack
                .resource(&id)
                .filter(|r| !r.status.starts_with("DELETE"))
                .cloned();
            let Some(existing) = existing else {
                journal.push(Step::Created(id.clone()));
                self.create_resource(&prep, &id)
                    .await
                    .map_err(|_| format!("The following resource(s) failed to create: [{id}]. "))?;
                continue;
            };
            let props = match self.resolve(&prep, &decl.properties) {
                Ok(p) => p,
                Err(reason) => {
                    let e = self.event(
                        &id,
                        existing.physical_id.clone(),
                        &decl.kind,
                        "UPDATE_FAILED",
                        Some(reason.clone()),
                        None,
                    );
                    self.save(vec![e]).await;
                    return Err(format!(
                        "The following resource(s) failed to update: [{id}]. "
                    ));
                }
            };
            if let Some(r) = self.stack.resource_mut(&id) {
                r.deletion_policy = decl.deletion_policy.clone();
                r.update_replace_policy = decl.update_replace_policy.clone();
            }
            let settled = existing.status.ends_with("_COMPLETE");
            if existing.kind == decl.kind && existing.properties == props && settled {
                continue;
            }
            let replace = existing.kind != decl.kind
                || resources::needs_replacement(&decl.kind, &existing.properties, &props);
            if replace {
                self.replace(&prep, &existing, &decl.kind, props, journal)
                    .await?;
            } else {
                journal.push(Step::Updated(existing.clone()));
                self.update_in_place(&prep, &existing, props).await?;
            }
        }
        let (outputs, imports) = match self.outputs(&prep) {
            Ok(o) => o,
            Err(reason) => return Err(reason),
        };
        self.check_exports_in_use(&outputs)?;
        self.stack.outputs = outputs;
        self.stack.imports = imports;
        self.status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None)
            .await;
        // Resources no longer in the template (or whose condition turned false), then the
        // physical resources replacements superseded.
        let keep: BTreeSet<&String> = prep.plan.order.iter().collect();
        let removed: Vec<String> = self
            .deletion_order()
            .into_iter()
            .filter(|id| !keep.contains(id))
            .collect();
        for id in removed {
            let Some(r) = self.stack.resource(&id).cloned() else {
                continue;
            };
            if !r.status.starts_with("DELETE") {
                let retain = matches!(
                    r.deletion_policy.as_deref(),
                    Some("Retain") | Some("RetainExceptOnCreate")
                );
                let _ = self.delete_one(&r, retain).await;
            }
            self.stack.resources.retain(|x| x.logical_id != id);
        }
        for step in journal.iter() {
            if let Step::Replaced(old) = step {
                let retain = old.update_replace_policy.as_deref() == Some("Retain");
                // A superseded resource that cannot be deleted is left behind, as AWS does;
                // the update has succeeded.
                let _ = self.delete_old(old, retain).await;
            }
        }
        self.stack.previous = None;
        self.status("UPDATE_COMPLETE", None).await;
        Ok(())
    }

    /// Deletes the physical resource of `old` (superseded by a replacement) without touching
    /// the record now holding the replacement.
    async fn delete_old(&mut self, old: &ResourceRecord, retain: bool) -> Result<(), String> {
        if retain || old.physical_id.is_none() {
            return Ok(());
        }
        let e = self.event(
            &old.logical_id,
            old.physical_id.clone(),
            &old.kind,
            "DELETE_IN_PROGRESS",
            None,
            None,
        );
        self.save(vec![e]).await;
        let result = {
            let call = self.call.clone();
            let svc = self.cfn.services.clone();
            let name = self.stack.name.clone();
            let tags = self.stack.tags.clone();
            let ctx = Ctx {
                call: &call,
                svc: &svc,
                stack_name: &name,
                logical_id: &old.logical_id,
                stack_tags: &tags,
            };
            resources::delete(&ctx, old).await
        };
        let (status, reason) = match &result {
            Ok(()) => ("DELETE_COMPLETE", None),
            Err(f) => ("DELETE_FAILED", Some(f.0.clone())),
        };
        let e = self.event(
            &old.logical_id,
            old.physical_id.clone(),
            &old.kind,
            status,
            reason,
            None,
        );
        self.save(vec![e]).await;
        result.map_err(|f| f.0)
    }

    fn check_exports_in_use(&self, outputs: &[OutputRecord]) -> Result<(), String> {
        let Some(prev) = &self.stack.previous else {
            return Ok(());
        };
        let account = self.account();
        for o in &prev.outputs {
            let Some(name) = &o.export_name else { continue };
            let now = outputs
                .iter()
                .find(|n| n.export_name.as_deref() == Some(name.as_str()));
            if now.is_some_and(|n| n.value == o.value) {
                continue;
            }
            let user = self
                .cfn
                .read(|st| {
                    st.importers(&account, name)
                        .into_iter()
                        .find(|s| s.stack_id != self.stack.stack_id)
                        .map(|s| s.name.clone())
                })
                .ok()
                .flatten();
            if let Some(user) = user {
                return Err(match now {
                    Some(_) => format!("Cannot update export {name} as it is in use by {user}"),
                    None => format!("Export {name} cannot be deleted as it is in use by {user}"),
                });
            }
        }
        Ok(())
    }

    async fn replace(
        &mut self,
        prep: &Prepared,
        existing: &ResourceRecord,
        kind: &str,
        props: Value,
        journal: &mut Vec<Step>,
    ) -> Result<(), String> {
        let id = existing.logical_id.clone();
        if let Some(np) = resources::info(kind).and_then(|t| t.name_property)
            && let Some(name) = props.get(np)
            && existing.properties.get(np) == Some(name)
        {
            let reason = format!(
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {} and update the stack again.",
                existing.physical_id.clone().unwrap_or_default()
            );
            let e = self.event(
                &id,
                existing.physical_id.clone(),
                kind,
                "UPDATE_FAILED",
                Some(reason),
                None,
            );
            self.save(vec![e]).await;
            return Err(format!(
                "The following resource(s) failed to update: [{id}]. "
            ));
        }
        let e = self.event(
            &id,
            existing.physical_id.clone(),
            kind,
            "UPDATE_IN_PROGRESS",
            Some("Requested update requires the creation of a new physical resource; hence creating one.".into()),
            None,
        );
        self.save(vec![e]).await;
        journal.push(Step::Replaced(existing.clone()));
        let created = {
            let call = self.call.clone();
            let svc = self.cfn.services.clone();
            let name = self.stack.name.clone();
            let tags = self.stack.tags.clone();
            let ctx = Ctx {
                call: &call,
                svc: &svc,
                stack_name: &name,
                logical_id: &id,
                stack_tags: &tags,
            };
            resources::create(&ctx, kind, &props).await
        };
        let decl = prep.template.resource(&id);
        let mut record = ResourceRecord {
            logical_id: id.clone(),
            kind: kind.to_string(),
            physical_id: None,
            status: "UPDATE_COMPLETE".into(),
            status_reason: None,
            updated: now(),
            properties: props,
            attributes: Map::new(),
            deletion_policy: decl.and_then(|d| d.deletion_policy.clone()),
            update_replace_policy: decl.and_then(|d| d.update_replace_policy.clone()),
        };
        match created {
            Ok(c) => {
                record.physical_id = Some(c.physical_id.clone());
                record.attributes = c.attributes;
                if let Some(r) = self.stack.resource_mut(&id) {
                    *r = record;
                }
                let a = self.event(
                    &id,
                    Some(c.physical_id.clone()),
                    kind,
                    "UPDATE_IN_PROGRESS",
                    Some("Resource creation Initiated".into()),
                    None,
                );
                let b = self.event(
                    &id,
                    Some(c.physical_id),
                    kind,
                    "UPDATE_COMPLETE",
                    None,
                    None,
                );
                self.save(vec![a, b]).await;
                Ok(())
            }
            Err(p) => {
                record.status = "UPDATE_FAILED".into();
                record.status_reason = Some(p.failure.0.clone());
                if let Some(c) = p.created {
                    record.physical_id = Some(c.physical_id);
                    record.attributes = c.attributes;
                }
                let phys = record.physical_id.clone();
                if let Some(r) = self.stack.resource_mut(&id) {
                    *r = record;
                }
                let e = self.event(&id, phys, kind, "UPDATE_FAILED", Some(p.failure.0), None);
                self.save(vec![e]).await;
                Err(format!(
                    "The following resource(s) failed to update: [{id}]. "
                ))
            }
        }
    }

    async fn update_in_place(
        &mut self,
        prep: &Prepared,
        existing: &ResourceRecord,
        props: Value,
    ) -> Result<(), String> {
        let id = existing.logical_id.clone();
        let kind = existing.kind.clone();
        let shown = Some(mask(props.to_string(), &prep.params));
        let e = self.event(
            &id,
            existing.physical_id.clone(),
            &kind,
            "UPDATE_IN_PROGRESS",
            None,
            shown,
        );
        self.save(vec![e]).await;
        let result = self.apply_in_place(existing, &props).await;
        match result {
            Ok(c) => {
                if let Some(r) = self.stack.resource_mut(&id) {
                    r.properties = props;
                    r.physical_id = Some(c.physical_id.clone());
                    r.attributes = c.attributes;
                    r.status = "UPDATE_COMPLETE".into();
                    r.status_reason = None;
                    r.updated = now();
                }
                let e = self.event(
                    &id,
                    Some(c.physical_id),
                    &kind,
                    "UPDATE_COMPLETE",
                    None,
                    None,
                );
                self.save(vec![e]).await;
                Ok(())
            }
            Err(Failure(reason)) => {
                if let Some(r) = self.stack.resource_mut(&id) {
                    r.properties = props;
                    r.status = "UPDATE_FAILED".into();
                    r.status_reason = Some(reason.clone());
                    r.updated = now();
                }
                let e = self.event(
                    &id,
                    existing.physical_id.clone(),
                    &kind,
                    "UPDATE_FAILED",
                    Some(reason),
                    None,
                );
                self.save(vec![e]).await;
                Err(format!(
                    "The following resource(s) failed to update: [{id}]. "
                ))
            }
        }
    }

    async fn apply_in_place(
        &self,
        existing: &ResourceRecord,
        props: &Value,
    ) -> Result<resources::Created, Failure> {
        let call = self.call.clone();
        let svc = self.cfn.services.clone();
        let name = self.stack.name.clone();
        let tags = self.stack.tags.clone();
        let ctx = Ctx {
            call: &call,
            svc: &svc,
            stack_name: &name,
            logical_id: &existing.logical_id,
            stack_tags: &tags,
        };
        resources::update(&ctx, existing, props).await
    }

    /// Undoes an update's steps, newest first; whether all went well.
    async fn undo(&mut self, journal: Vec<Step>) -> bool {
        let mut ok = true;
        for step in journal.into_iter().rev() {
            match step {
                Step::Created(id) => {
                    let Some(r) = self.stack.resource(&id).cloned() else {
                        continue;
                    };
                    if self.delete_one(&r, false).await.is_err() {
                        ok = false;
                        continue;
                    }
                    self.stack.resources.retain(|x| x.logical_id != id);
                }
                Step::Replaced(old) => {
                    let current = self.stack.resource(&old.logical_id).cloned();
                    if let Some(c) = current
                        && c.physical_id != old.physical_id
                        && c.physical_id.is_some()
                    {
                        let e = self.event(
                            &c.logical_id,
                            c.physical_id.clone(),
                            &c.kind,
                            "DELETE_IN_PROGRESS",
                            None,
                            None,
                        );
                        self.save(vec![e]).await;
                        let result = {
                            let call = self.call.clone();
                            let svc = self.cfn.services.clone();
                            let name = self.stack.name.clone();
                            let tags = self.stack.tags.clone();
                            let ctx = Ctx {
                                call: &call,
                                svc: &svc,
                                stack_name: &name,
                                logical_id: &c.logical_id,
                                stack_tags: &tags,
                            };
                            resources::delete(&ctx, &c).await
                        };
                        let (status, reason) = match result {
                            Ok(()) => ("DELETE_COMPLETE", None),
                            Err(f) => {
                                ok = false;
                                ("DELETE_FAILED", Some(f.0))
                            }
                        };
                        let e = self.event(
                            &c.logical_id,
                            c.physical_id.clone(),
                            &c.kind,
                            status,
                            reason,
                            None,
                        );
                        self.save(vec![e]).await;
                    }
                    let id = old.logical_id.clone();
                    let kind = old.kind.clone();
                    let phys = old.physical_id.clone();
                    if let Some(r) = self.stack.resource_mut(&id) {
                        *r = old;
                        r.status = "UPDATE_COMPLETE".into();
                        r.updated = now();
                    }
                    let e = self.event(&id, phys, &kind, "UPDATE_COMPLETE", None, None);
                    self.save(vec![e]).await;
                }
                Step::Updated(old) => {
                    let Some(current) = self.stack.resource(&old.logical_id).cloned() else {
                        continue;
                    };
                    let id = old.logical_id.clone();
                    let e = self.event(
                        &id,
                        old.physical_id.clone(),
                        &old.kind,
                        "UPDATE_IN_PROGRESS",
                        None,
                        None,
                    );
                    self.save(vec![e]).await;
                    let result = self.apply_in_place(&current, &old.properties).await;
                    let (status, reason) = match result {
                        Ok(_) => ("UPDATE_COMPLETE", None),
                        Err(f) => {
                            ok = false;
                            ("UPDATE_FAILED", Some(f.0))
                        }
                    };
                    let kind = old.kind.clone();
                    let phys = old.physical_id.clone();
                    if let Some(r) = self.stack.resource_mut(&id) {
                        *r = old;
                        r.status = status.to_string();
                        r.status_reason = reason.clone();
                        r.updated = now();
                    }
                    let e = self.event(&id, phys, &kind, status, reason, None);
                    self.save(vec![e]).await;
                }
            }
        }
        ok
    }
}

/// Resolves `AWS::SSM::Parameter::Value<...>` parameters from Parameter Store, as the caller.
pub(crate) async fn resolve_ssm_parameters(
    cfn: &CloudFormation,
    call: &Call,
    template: &Template,
    params: &mut BTreeMap<String, ParamValue>,
) -> Result<(), String> {
    let mut missing = Vec::new();
    for decl in template.parameters.iter().filter(|d| d.is_ssm()) {
        let Some(p) = params.get_mut(&decl.name) else {
            continue;
        };
        let op: ssm::GetParameter = match serde_json::from_value(json!({"Name": p.text})) {
            Ok(op) => op,
            Err(_) => {
                missing.push(p.text.clone());
                continue;
            }
        };
        match call
            .invoke(
                &cfn.services.ssm,
                op,
                "ssm",
                gateway::Via::called_via("cloudformation.amazonaws.com"),
            )
            .await
        {
            Ok(out) => {
                let v = serde_json::to_value(out).unwrap_or(Value::Null);
                p.resolved = v["Parameter"]["Value"].as_str().map(String::from);
                if p.resolved.is_none() {
                    missing.push(p.text.clone());
                }
            }
            Err(_) => missing.push(p.text.clone()),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Unable to fetch parameters [{}] from parameter store for this account.",
            missing.join(",")
        ))
    }
}

/// The changes executing `proposed` (the stack with a new template and parameters) would
/// make to `current` (absent for a new stack), for a change set.
pub(crate) fn preview(
    cfn: &CloudFormation,
    current: Option<&StackRecord>,
    proposed: &StackRecord,
) -> Result<Vec<crate::state::ChangeRecord>, String> {
    use crate::state::ChangeRecord;
    let prep = prepare(proposed, cfn.region())?;
    let base = current.unwrap_or(proposed);
    let lookup = Lookup { stack: base };
    let account = proposed.account.clone();
    let exports = |name: &str| {
        cfn.read(|st| st.export(&account, name).map(|(v, _)| v))
            .ok()
            .flatten()
    };
    let scope = Scope {
        template: &prep.template,
        params: &prep.params,
        pseudo: &prep.pseudo,
        conditions: &prep.conditions,
        resources: &lookup,
        exports: &exports,
    };
    let mut out = Vec::new();
    for id in &prep.plan.order {
        let Some(decl) = prep.template.resource(id) else {
            continue;
        };
        let existing = base
            .resource(id)
            .filter(|r| current.is_some() && !r.status.starts_with("DELETE"));
        let Some(existing) = existing else {
            out.push(ChangeRecord {
                action: "Add".into(),
                logical_id: id.clone(),
                physical_id: None,
                kind: decl.kind.clone(),
                replacement: None,
                scope: Vec::new(),
                details: Vec::new(),
            });
            continue;
        };
        let (replacement, details) = if existing.kind != decl.kind {
            ("True".to_string(), Vec::new())
        } else {
            match scope.resolve(&decl.properties) {
                Ok(p) => {
                    let p = p.unwrap_or_else(|| Value::Object(Map::new()));
                    if p == existing.properties && existing.status.ends_with("_COMPLETE") {
                        continue;
                    }
                    let replace =
                        resources::needs_replacement(&decl.kind, &existing.properties, &p);
                    (
                        if replace { "True" } else { "False" }.to_string(),
                        resources::changed_properties(&existing.properties, &p),
                    )
                }
                Err(_) => ("Conditional".to_string(), Vec::new()),
            }
        };
        let scope_of = if details.iter().all(|d| d == "Tags") && !details.is_empty() {
            vec!["Tags".to_string()]
        } else {
            vec!["Properties".to_string()]
        };
        out.push(ChangeRecord {
            action: "Modify".into(),
            logical_id: id.clone(),
            physical_id: existing.physical_id.clone(),
            kind: decl.kind.clone(),
            replacement: Some(replacement),
            scope: scope_of,
            details,
        });
    }
    if let Some(cur) = current {
        for r in &cur.resources {
            if !prep.plan.order.contains(&r.logical_id) && !r.status.starts_with("DELETE") {
                out.push(ChangeRecord {
                    action: "Remove".into(),
                    logical_id: r.logical_id.clone(),
                    physical_id: r.physical_id.clone(),
                    kind: r.kind.clone(),
                    replacement: None,
                    scope: Vec::new(),
                    details: Vec::new(),
                });
            }
        }
    }
    Ok(out)
}
