//! The stage graph: `refId`s present and unique, every `requisiteStageRefIds` entry names an
//! existing stage, and no cycle. Orca starts the stages without requisites first and each
//! other stage when all its requisites are done: a dangling reference or a cycle means
//! stages that never start.

use super::Report;
use super::path;
use super::view::{Field, PipelineView, kind_of, quote, string_field};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub fn check(view: &PipelineView, report: &mut Report) {
    let by_ref_id = ref_ids(view, report);
    let waits_for = requisites(view, &by_ref_id, report);
    for cycle in cycles(&waits_for) {
        let names: Vec<&str> = cycle
            .iter()
            .filter_map(|&k| view.stages[k].ref_id())
            .collect();
        let first = &view.stages[cycle[0]];
        report.error(
            first.field_path("requisiteStageRefIds"),
            format!(
                "the stages wait for each other in a cycle: {} (each waits for the next through `requisiteStageRefIds`), so none of them can start",
                names.join(" -> ")
            ),
        );
    }
}

/// refId -> index into `view.stages` (the first stage with it, as Orca resolves it).
fn ref_ids<'a>(view: &PipelineView<'a>, report: &mut Report) -> HashMap<&'a str, usize> {
    let mut by_ref_id: HashMap<&'a str, usize> = HashMap::new();
    for (k, stage) in view.stages.iter().enumerate() {
        let field = string_field(stage.stage, "refId");
        let Field::Ok(ref_id) = field else {
            if let Some(problem) = field.problem("refId") {
                report.error(field.path(&stage.path, "refId"), problem);
            }
            continue;
        };
        match by_ref_id.get(ref_id) {
            Some(&first) => report.error(
                stage.field_path("refId"),
                format!(
                    "refId {} is also the refId of {} ({}); refIds must be unique within a pipeline",
                    quote(ref_id),
                    view.stages[first].path,
                    view.stages[first].label()
                ),
            ),
            None => {
                by_ref_id.insert(ref_id, k);
            }
        }
    }
    by_ref_id
}

/// For each stage (index into `view.stages`), the stages it waits for.
fn requisites(
    view: &PipelineView,
    by_ref_id: &HashMap<&str, usize>,
    report: &mut Report,
) -> Vec<Vec<usize>> {
    let mut waits_for = vec![Vec::new(); view.stages.len()];
    for (k, stage) in view.stages.iter().enumerate() {
        let list_path = stage.field_path("requisiteStageRefIds");
        let items = match stage.stage.get("requisiteStageRefIds") {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) => items,
            Some(other) => {
                report.error(
                    list_path,
                    format!(
                        "`requisiteStageRefIds` must be an array of refIds, got {}",
                        kind_of(other)
                    ),
                );
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = path::index(&list_path, i);
            let Some(ref_id) = item.as_str() else {
                report.error(
                    item_path,
                    format!("a refId must be a string, got {}", kind_of(item)),
                );
                continue;
            };
            match by_ref_id.get(ref_id) {
                Some(&target) => {
                    if !waits_for[k].contains(&target) {
                        waits_for[k].push(target);
                    }
                }
                None => report.error(
                    item_path,
                    format!(
                        "no stage has refId {}, so this stage would never start",
                        quote(ref_id)
                    ),
                ),
            }
        }
    }
    waits_for
}

/// Every cycle a depth-first search meets, each once, rotated to start at its first stage.
/// Iterative, so that a pathological pipeline cannot overflow the stack.
fn cycles(waits_for: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; waits_for.len()];
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashSet<Vec<usize>> = HashSet::new();
    for start in 0..waits_for.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (node, next edge to follow)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(top) = stack.last_mut() {
            let (node, edge) = *top;
            let Some(&next) = waits_for[node].get(edge) else {
                mark[node] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match mark[next] {
                Mark::New => {
                    mark[next] = Mark::OnPath;
                    stack.push((next, 0));
                }
                Mark::OnPath => {
                    let from = stack.iter().position(|&(n, _)| n == next).unwrap_or(0);
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                    let min_at = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
                    cycle.rotate_left(min_at);
                    if seen.insert(cycle.clone()) {
                        let mut closed = cycle;
                        closed.push(closed[0]);
                        found.push(closed);
                    }
                }
                Mark::Done => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{check_json, variant};
    use super::cycles;
    use insta::assert_snapshot;
    use serde_json::json;

    #[test]
    fn missing_and_duplicate_ref_ids() {
        let v = variant(&[
            ("/pipelines/0/stages/7/refId", None),
            ("/pipelines/0/stages/6/refId", Some(json!("5"))),
            ("/pipelines/0/stages/5/refId", Some(json!(6))),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn requisites_that_name_no_stage() {
        let v = variant(&[
            (
                "/pipelines/0/stages/1/requisiteStageRefIds",
                Some(json!(["1", "9"])),
            ),
            (
                "/pipelines/0/stages/2/requisiteStageRefIds",
                Some(json!([2])),
            ),
            (
                "/pipelines/0/stages/3/requisiteStageRefIds",
                Some(json!("3")),
            ),
        ]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn a_cycle_is_named() {
        // 2 waits for 7, 7 for 6, 6 for 4, 4 for 3, 3 for 2.
        let v = variant(&[(
            "/pipelines/0/stages/1/requisiteStageRefIds",
            Some(json!(["7"])),
        )]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn a_stage_waiting_for_itself_is_a_cycle() {
        let v = variant(&[(
            "/pipelines/0/stages/0/requisiteStageRefIds",
            Some(json!(["1"])),
        )]);
        assert_snapshot!(check_json(v));
    }

    #[test]
    fn cycles_are_reported_once_each() {
        // 0 <-> 1, and 2 -> 3 -> 4 -> 2 reached twice.
        let g = vec![vec![1], vec![0], vec![3], vec![4], vec![2], vec![2, 3]];
        assert_eq!(cycles(&g), vec![vec![0, 1, 0], vec![2, 3, 4, 2]]);
        assert!(cycles(&[vec![], vec![0], vec![0, 1]]).is_empty());
    }
}
