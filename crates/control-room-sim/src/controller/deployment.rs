//! The Deployment controller: one ReplicaSet per pod template (named by the template's hash),
//! traffic moved from old to new like the real RollingUpdate (maxSurge/maxUnavailable) or
//! Recreate strategy, revisions kept in annotations, and a status (`observedGeneration`,
//! replica counts, `Progressing`/`Available`) that `kubectl rollout status` can follow.
//!
//! The arithmetic is the real controller's (`rolling.go`, `sync.go`), so a 1-replica rollout
//! with the default 25%/25% surges to 2 pods and never drops below 1 available.

use serde_json::{Map, Value, json};

use super::events::{self, DEPLOYMENTS};
use super::fields::{int, replicas, set, str_at, terminating};
use super::{Controller, replicaset};
use crate::store::ids::SUFFIX_ALPHABET;
use crate::store::owners;
use crate::store::{StoreError, timestamp};

const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const HASH_LABEL: &str = "pod-template-hash";

/// The numbers of one ReplicaSet the rollout works with.
struct Rs {
    value: Value,
    name: String,
    spec: i64,
    replicas: i64,
    ready: i64,
    available: i64,
    revision: i64,
}

impl Rs {
    fn new(value: Value) -> Self {
        let revision = value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(REVISION))
            .and_then(Value::as_str)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        Self {
            name: str_at(&value, "/metadata/name").to_string(),
            spec: replicas(&value),
            replicas: int(&value, "/status/replicas"),
            ready: int(&value, "/status/readyReplicas"),
            available: int(&value, "/status/availableReplicas"),
            revision,
            value,
        }
    }
}

/// What one sync has to say about progress, beyond the counts.
type Progress = Option<(&'static str, String)>;

pub fn sync(ctl: &mut Controller, namespace: &str, name: &str) -> Result<(), StoreError> {
    let Some(d) = ctl
        .store
        .get("apps/v1", "Deployment", Some(namespace), name)
    else {
        return Ok(());
    };
    if terminating(&d) {
        return Ok(());
    }
    let Some(uid) = owners::uid_of(&d).map(str::to_string) else {
        return Ok(());
    };
    let Some(template) = d.pointer("/spec/template").cloned() else {
        return Ok(());
    };
    let desired = replicas(&d);
    let (surge, unavailable) = limits(&d, desired);
    let recreate = str_at(&d, "/spec/strategy/type") == "Recreate";
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);

    let mut olds = owned_replica_sets(ctl, namespace, &uid);
    let mut new = olds
        .iter()
        .position(|rs| same_template(&rs.value, &template))
        .map(|i| olds.remove(i));
    let max_old_revision = olds.iter().map(|rs| rs.revision).max().unwrap_or(0);
    let mut progress: Progress = None;
    match new.as_mut() {
        // Back to an older template (a rollback): its ReplicaSet becomes the newest revision.
        Some(rs) if rs.revision <= max_old_revision => {
            let revision = json!((max_old_revision + 1).to_string());
            set(
                &mut rs.value,
                &["metadata", "annotations", REVISION],
                revision,
            );
            *rs = Rs::new(ctl.store.update_stored(rs.value.clone())?.to_value());
            progress = Some((
                "FoundNewReplicaSet",
                format!("Found new replica set \"{}\"", rs.name),
            ));
        }
        Some(_) => {}
        None if paused => {}
        None => {
            let old_pods: i64 = olds.iter().map(|rs| rs.spec).sum();
            let count = if recreate {
                0
            } else {
                new_replicas_target(desired, surge, 0, old_pods)
            };
            let created =
                create_replica_set(ctl, &d, &template, max_old_revision + 1, count, surge)?;
            if count > 0 {
                scaled_event(ctl, &d, &created.name, 0, count);
            }
            progress = Some((
                "NewReplicaSetCreated",
                format!("Created new replica set \"{}\"", created.name),
            ));
            new = Some(created);
        }
    }
    if let Some(new_rs) = new.as_mut()
        && !paused
    {
        if recreate {
            roll_recreate(ctl, &d, new_rs, &mut olds, desired)?;
        } else {
            roll_rolling(ctl, &d, new_rs, &mut olds, desired, surge, unavailable)?;
        }
        prune_history(ctl, &d, &mut olds);
    }
    write_status(ctl, d, new.as_ref(), &olds, desired, unavailable, progress)
}

/// ReplicaSets controlled by the Deployment, oldest first.
fn owned_replica_sets(ctl: &Controller, namespace: &str, uid: &str) -> Vec<Rs> {
    let (all, _) = ctl.store.list("apps/v1", "ReplicaSet", Some(namespace));
    let mut owned: Vec<Rs> = all
        .into_iter()
        .filter(|rs| owners::controller_of(rs).is_some_and(|o| o.uid == uid))
        .filter(|rs| !terminating(rs))
        .map(Rs::new)
        .collect();
    owned.sort_by(|a, b| {
        let created = |rs: &Rs| str_at(&rs.value, "/metadata/creationTimestamp").to_string();
        created(a)
            .cmp(&created(b))
            .then_with(|| a.name.cmp(&b.name))
    });
    owned
}

/// The ReplicaSet's template is the Deployment's, apart from the hash label it adds. Compared
/// without null fields, as typed objects would be: `kubectl rollout undo` writes a template
/// back with `creationTimestamp: null` in it.
fn same_template(rs: &Value, template: &Value) -> bool {
    let Some(mut own) = rs.pointer("/spec/template").cloned() else {
        return false;
    };
    if let Some(labels) = own
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    let mut wanted = template.clone();
    drop_nulls(&mut own);
    drop_nulls(&mut wanted);
    own == wanted
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `pod-template-hash`: FNV-32a of the template, its decimal digits spelled in the suffix
/// alphabet, like `rand.SafeEncodeString(fmt.Sprint(hash))`.
fn template_hash(template: &Value, collisions: i64) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let text = template.to_string();
    let bytes = text.bytes().chain(collisions.to_le_bytes());
    for b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(SUFFIX_ALPHABET[usize::from(b) % SUFFIX_ALPHABET.len()]))
        .collect()
}

/// (maxSurge, maxUnavailable) in pods, rounded as the real controller rounds (surge up,
/// unavailable down; never both zero).
fn limits(d: &Value, desired: i64) -> (i64, i64) {
    let rolling = d.pointer("/spec/strategy/rollingUpdate");
    let get = |k: &str| {
        rolling
            .and_then(|r| r.get(k))
            .cloned()
            .unwrap_or(json!("25%"))
    };
    let surge = resolve(&get("maxSurge"), desired, true);
    let mut unavailable = resolve(&get("maxUnavailable"), desired, false).min(desired);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// An int-or-percent of `total`, bounded to int32 like everything else here.
fn resolve(value: &Value, total: i64, round_up: bool) -> i64 {
    let bound = i64::from(i32::MAX);
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0).clamp(0, bound),
        Value::String(s) => match s.strip_suffix('%').map(str::parse::<i64>) {
            Some(Ok(pct)) => {
                let scaled = total.saturating_mul(pct.clamp(0, 100_000));
                let pods = if round_up {
                    (scaled + 99) / 100
                } else {
                    scaled / 100
                };
                pods.min(bound)
            }
            Some(Err(_)) => 0,
            None => s.parse::<i64>().unwrap_or(0).clamp(0, bound),
        },
        _ => 0,
    }
}

/// How many replicas the new ReplicaSet may have now (`NewRSNewReplicas`).
fn new_replicas_target(desired: i64, surge: i64, new_spec: i64, all_spec: i64) -> i64 {
    if new_spec >= desired {
        return desired;
    }
    let max_total = desired + surge;
    if all_spec >= max_total {
        return new_spec;
    }
    new_spec + (max_total - all_spec).min(desired - new_spec)
}

fn create_replica_set(
    ctl: &mut Controller,
    d: &Value,
    template: &Value,
    revision: i64,
    count: i64,
    surge: i64,
) -> Result<Rs, StoreError> {
    let (namespace, name) = super::ns_name(d);
    let collisions = int(d, "/status/collisionCount");
    let hash = template_hash(template, collisions);
    let mut template = template.clone();
    set(
        &mut template,
        &["metadata", "labels", HASH_LABEL],
        json!(hash),
    );
    let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    set(&mut selector, &["matchLabels", HASH_LABEL], json!(hash));
    let labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    let desired = replicas(d);
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{name}-{hash}"),
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                DESIRED: desired.to_string(),
                MAX_REPLICAS: (desired + surge).to_string(),
                REVISION: revision.to_string(),
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                 "uid": owners::uid_of(d).unwrap_or(""),
                                 "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {"replicas": count, "selector": selector, "template": template},
        "status": {"replicas": 0},
    });
    match ctl.store.create(rs) {
        Ok(created) => Ok(Rs::new(created)),
        Err(StoreError::AlreadyExists { resource, name }) => {
            // The name belongs to a ReplicaSet with another template: count the collision so
            // the next attempt hashes differently, as the real controller does.
            let mut d = d.clone();
            set(&mut d, &["status", "collisionCount"], json!(collisions + 1));
            ctl.store.update_stored(d)?;
            Err(StoreError::Conflict { resource, name })
        }
        Err(err) => Err(err),
    }
}

fn scaled_event(ctl: &mut Controller, d: &Value, rs: &str, from: i64, to: i64) {
    let direction = if to > from { "up" } else { "down" };
    let message = format!("Scaled {direction} replica set {rs} from {from} to {to}");
    events::record(ctl, d, None, "ScalingReplicaSet", &message, &DEPLOYMENTS);
}

fn scale(
    ctl: &mut Controller,
    d: &Value,
    rs: &mut Rs,
    to: i64,
    surge: i64,
) -> Result<(), StoreError> {
    let from = rs.spec;
    if from == to {
        return Ok(());
    }
    let desired = replicas(d);
    let mut value = rs.value.clone();
    set(&mut value, &["spec", "replicas"], json!(to));
    set(
        &mut value,
        &["metadata", "annotations", DESIRED],
        json!(desired.to_string()),
    );
    let max = json!((desired + surge).to_string());
    set(&mut value, &["metadata", "annotations", MAX_REPLICAS], max);
    *rs = Rs::new(ctl.store.update_stored(value)?.to_value());
    scaled_event(ctl, d, &rs.name, from, to);
    Ok(())
}

/// `rolloutRolling`: surge the new set up, then scale old sets down as far as availability
/// allows (unhealthy old pods first).
fn roll_rolling(
    ctl: &mut Controller,
    d: &Value,
    new: &mut Rs,
    olds: &mut [Rs],
    desired: i64,
    surge: i64,
    unavailable: i64,
) -> Result<(), StoreError> {
    let old_spec: i64 = olds.iter().map(|rs| rs.spec).sum();
    let target = new_replicas_target(desired, surge, new.spec, new.spec + old_spec);
    scale(ctl, d, new, target, surge)?;
    if old_spec == 0 {
        return Ok(());
    }
    let min_available = desired - unavailable;
    let new_unavailable = new.spec - new.available;
    let max_scaled_down = new.spec + old_spec - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Ok(());
    }
    let mut cleaned = 0;
    for rs in olds.iter_mut() {
        if cleaned >= max_scaled_down {
            break;
        }
        if rs.spec == 0 || rs.spec == rs.available {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(rs.spec - rs.available);
        scale(ctl, d, rs, rs.spec - down, surge)?;
        cleaned += down;
    }
    let available: i64 = new.available + olds.iter().map(|rs| rs.available).sum::<i64>();
    let budget = available - min_available;
    let mut done = 0;
    for rs in olds.iter_mut() {
        if done >= budget {
            break;
        }
        if rs.spec == 0 {
            continue;
        }
        let down = rs.spec.min(budget - done);
        scale(ctl, d, rs, rs.spec - down, surge)?;
        done += down;
    }
    Ok(())
}

/// `rolloutRecreate`: everything old down and gone, then the new set up.
fn roll_recreate(
    ctl: &mut Controller,
    d: &Value,
    new: &mut Rs,
    olds: &mut [Rs],
    desired: i64,
) -> Result<(), StoreError> {
    if olds.iter().any(|rs| rs.spec > 0) {
        for rs in olds.iter_mut() {
            scale(ctl, d, rs, 0, 0)?;
        }
        return Ok(());
    }
    let namespace = str_at(d, "/metadata/namespace").to_string();
    let old_pods_left = olds
        .iter()
        .any(|rs| !replicaset::owned_pods(ctl, &namespace, &rs.value).is_empty());
    if old_pods_left {
        return Ok(());
    }
    scale(ctl, d, new, desired, 0)
}

/// Keep at most `revisionHistoryLimit` scaled-down old ReplicaSets.
fn prune_history(ctl: &mut Controller, d: &Value, olds: &mut Vec<Rs>) {
    let limit = d
        .pointer("/spec/revisionHistoryLimit")
        .and_then(Value::as_i64)
        .unwrap_or(10)
        .max(0) as usize;
    let mut idle: Vec<usize> = (0..olds.len())
        .filter(|&i| olds[i].spec == 0 && olds[i].replicas == 0)
        .collect();
    if idle.len() <= limit {
        return;
    }
    idle.sort_by_key(|&i| olds[i].revision);
    let doomed: Vec<usize> = idle[..idle.len() - limit].to_vec();
    for &i in doomed.iter().rev() {
        let rs = olds.remove(i);
        let namespace = str_at(&rs.value, "/metadata/namespace").to_string();
        let _ = ctl
            .store
            .delete("apps/v1", "ReplicaSet", Some(&namespace), &rs.name);
    }
}

/// `SetDeploymentCondition`: unchanged when status and reason are; the transition time only
/// moves when the status does; a changed condition goes to the end of the list.
fn set_condition(conditions: &mut Vec<Value>, ty: &str, ok: bool, reason: &str, message: &str) {
    let status = if ok { "True" } else { "False" };
    let current = conditions.iter().position(|c| c["type"] == ty);
    let now = timestamp(chrono::Utc::now());
    let mut transition = json!(now);
    if let Some(i) = current {
        if conditions[i]["status"] == status && conditions[i]["reason"] == reason {
            return;
        }
        if conditions[i]["status"] == status {
            transition = conditions[i]["lastTransitionTime"].clone();
        }
        conditions.remove(i);
    }
    conditions.push(json!({"type": ty, "status": status, "lastUpdateTime": now,
                           "lastTransitionTime": transition, "reason": reason, "message": message}));
}

fn paused(d: &Value) -> bool {
    d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true)
}

/// `spec.progressDeadlineSeconds` (600 when unset, as the API defaults it); None when the
/// deadline is off (`MaxInt32`).
fn progress_deadline(d: &Value) -> Option<chrono::TimeDelta> {
    let seconds = d
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(600);
    (seconds != i64::from(i32::MAX)).then(|| chrono::TimeDelta::seconds(seconds.max(0)))
}

/// A rollout that made no progress: past its deadline, `Progressing` turns False with
/// `ProgressDeadlineExceeded` (what makes `kubectl rollout status` give up); before it, the
/// Deployment is looked at again when the deadline passes (`requeueStuckDeployment`).
fn check_deadline(ctl: &mut Controller, d: &Value, conditions: &mut Vec<Value>, new_rs: &str) {
    let Some(deadline) = progress_deadline(d) else {
        return;
    };
    let Some(progressing) = conditions.iter().find(|c| c["type"] == "Progressing") else {
        return;
    };
    if matches!(
        progressing["reason"].as_str(),
        Some("NewReplicaSetAvailable" | "ProgressDeadlineExceeded")
    ) {
        return;
    }
    let now = chrono::Utc::now();
    let from = super::fields::time_at(progressing, "/lastUpdateTime").unwrap_or(now);
    let due = from + deadline;
    if due < now {
        let message = format!("ReplicaSet \"{new_rs}\" has timed out progressing.");
        set_condition(
            conditions,
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &message,
        );
        return;
    }
    let (namespace, name) = super::ns_name(d);
    let left = (due - now).to_std().unwrap_or_default() + std::time::Duration::from_secs(1);
    ctl.requeue_at(super::Key::Deployment(namespace, name), left);
}

#[allow(clippy::too_many_arguments)]
fn write_status(
    ctl: &mut Controller,
    mut d: Value,
    new: Option<&Rs>,
    olds: &[Rs],
    desired: i64,
    unavailable: i64,
    progress: Progress,
) -> Result<(), StoreError> {
    let all = || new.into_iter().chain(olds.iter());
    let replicas: i64 = all().map(|rs| rs.replicas).sum();
    let updated = new.map_or(0, |rs| rs.replicas);
    let ready: i64 = all().map(|rs| rs.ready).sum();
    let available: i64 = all().map(|rs| rs.available).sum();
    let spec_total: i64 = all().map(|rs| rs.spec).sum();
    let old = d.get("status").cloned().unwrap_or(json!({}));
    let mut conditions: Vec<Value> = old
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if available >= desired - unavailable {
        set_condition(
            &mut conditions,
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_condition(
            &mut conditions,
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    if let Some((reason, message)) = &progress {
        set_condition(&mut conditions, "Progressing", true, reason, message);
    }
    let new_name = new.map_or_else(
        || str_at(&d, "/metadata/name").to_string(),
        |rs| rs.name.clone(),
    );
    let complete = updated == desired && replicas == desired && available == desired;
    let progressed = updated > int(&old, "/updatedReplicas")
        || replicas - updated < int(&old, "/replicas") - int(&old, "/updatedReplicas")
        || ready > int(&old, "/readyReplicas")
        || available > int(&old, "/availableReplicas");
    if complete {
        let message = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
        set_condition(
            &mut conditions,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &message,
        );
    } else if progressed {
        // Progress refreshes lastUpdateTime even with the same reason.
        let message = format!("ReplicaSet \"{new_name}\" is progressing.");
        let mut kept = None;
        if let Some(i) = conditions.iter().position(|c| c["type"] == "Progressing") {
            let current = conditions.remove(i);
            if current["status"] == "True" {
                kept = Some(current["lastTransitionTime"].clone());
            }
        }
        set_condition(
            &mut conditions,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &message,
        );
        if let (Some(at), Some(last)) = (kept, conditions.last_mut()) {
            last["lastTransitionTime"] = at;
        }
    } else if !paused(&d) {
        check_deadline(ctl, &d, &mut conditions, &new_name);
    }

    // Zero counts are left out, like the API types' `omitempty`.
    let mut status = Map::new();
    let mut put = |k: &str, v: i64| {
        if v != 0 {
            status.insert(k.into(), json!(v));
        }
    };
    put("availableReplicas", available);
    put("observedGeneration", int(&d, "/metadata/generation"));
    put("readyReplicas", ready);
    put("replicas", replicas);
    put("unavailableReplicas", (spec_total - available).max(0));
    put("updatedReplicas", updated);
    put("collisionCount", int(&old, "/collisionCount"));
    if !conditions.is_empty() {
        status.insert("conditions".into(), Value::Array(conditions));
    }
    let status = Value::Object(status);
    let revision = new.map(|rs| rs.revision.to_string());
    let current_revision = d
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .map(str::to_string);
    let revision_changed = revision.is_some() && revision != current_revision;
    if d.get("status") == Some(&status) && !revision_changed {
        return Ok(());
    }
    set(&mut d, &["status"], status);
    if let Some(revision) = revision {
        set(
            &mut d,
            &["metadata", "annotations", REVISION],
            json!(revision),
        );
    }
    ctl.store.update_stored(d).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_and_unavailable_round_like_kubernetes() {
        let d = |surge: Value, unavail: Value| json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}}}});
        assert_eq!(limits(&json!({}), 1), (1, 0));
        assert_eq!(limits(&json!({}), 4), (1, 1));
        assert_eq!(limits(&json!({}), 10), (3, 2));
        assert_eq!(limits(&d(json!(0), json!(0)), 3), (0, 1));
        assert_eq!(limits(&d(json!("50%"), json!(2)), 3), (2, 2));
    }

    #[test]
    fn new_replica_set_growth() {
        // 1 replica, surge 1: the new set gets its pod while the old one keeps its own.
        assert_eq!(new_replicas_target(1, 1, 0, 1), 1);
        assert_eq!(new_replicas_target(4, 1, 0, 4), 1);
        assert_eq!(new_replicas_target(4, 1, 1, 5), 1);
        assert_eq!(new_replicas_target(4, 1, 1, 4), 2);
        assert_eq!(new_replicas_target(2, 1, 3, 3), 2);
    }

    #[test]
    fn templates_compare_without_the_hash_and_hash_stably() {
        let t = json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let mut rs_t = t.clone();
        rs_t["metadata"]["labels"][HASH_LABEL] = json!("x");
        assert!(same_template(&json!({"spec": {"template": rs_t}}), &t));
        let mut undone = t.clone();
        undone["metadata"]["creationTimestamp"] = Value::Null;
        assert!(same_template(
            &json!({"spec": {"template": t.clone()}}),
            &undone
        ));
        let mut other = t.clone();
        other["spec"]["containers"][0]["image"] = json!("i:2");
        assert!(!same_template(
            &json!({"spec": {"template": other.clone()}}),
            &t
        ));
        let h = template_hash(&t, 0);
        assert_eq!(h, template_hash(&t, 0));
        assert_ne!(h, template_hash(&other, 0));
        assert_ne!(h, template_hash(&t, 1));
        assert!(h.bytes().all(|b| SUFFIX_ALPHABET.contains(&b)));
    }

    #[test]
    fn conditions_change_only_on_news() {
        let mut c = Vec::new();
        set_condition(&mut c, "Available", true, "A", "m");
        let first = c[0].clone();
        set_condition(&mut c, "Available", true, "A", "other message");
        assert_eq!(c[0], first);
        set_condition(&mut c, "Available", false, "B", "m");
        assert_eq!(c[0]["status"], "False");
    }
}
