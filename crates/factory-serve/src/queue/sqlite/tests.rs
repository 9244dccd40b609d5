use super::*;

fn queue(dir: &tempfile::TempDir, max_attempts: u32) -> SqliteQueue {
    SqliteQueue::open(&dir.path().join("factory.db"), max_attempts).unwrap()
}

fn task(delivery: &str, subject: &str) -> NewTask {
    NewTask {
        source: "github".into(),
        delivery: Some(delivery.into()),
        subject: Some(subject.into()),
        repo: "acme/calc".into(),
        format: "github-issue".into(),
        spec: "{}".into(),
        title: format!("about {subject}"),
        keys: Vec::new(),
        trust: None,
    }
}

const TTL: Duration = Duration::from_secs(60);

#[test]
fn a_delivery_is_one_task_and_a_subject_with_open_work_is_linked() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let first = q.enqueue(task("d1", "github:acme/calc#1")).unwrap();
    let Enqueued::Queued { task_id } = &first else {
        panic!("{first:?}")
    };
    assert_eq!(
        q.enqueue(task("d1", "github:acme/calc#1")).unwrap(),
        Enqueued::Duplicate {
            task_id: task_id.clone()
        }
    );
    // The same issue under a new delivery id: linked, not run again.
    let linked = q.enqueue(task("d2", "github:acme/calc#1")).unwrap();
    assert_eq!(
        linked,
        Enqueued::Linked {
            task_id: task_id.clone(),
            by: "github:acme/calc#1".into()
        }
    );
    // ...and that delivery again is a duplicate of the same task.
    assert_eq!(
        q.enqueue(task("d2", "github:acme/calc#1")).unwrap(),
        Enqueued::Duplicate {
            task_id: task_id.clone()
        }
    );
    assert_eq!(q.get(task_id).unwrap().unwrap().linked, ["d2"]);
    // Another issue is other work.
    assert!(matches!(
        q.enqueue(task("d3", "github:acme/calc#2")).unwrap(),
        Enqueued::Queued { .. }
    ));
    assert_eq!(q.list(10).unwrap().len(), 2);
}

#[test]
fn leases_fence_out_a_worker_that_lost_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 5);
    q.enqueue(task("d1", "s1")).unwrap();
    let mut a = q.lease("a", Duration::from_millis(1)).unwrap().unwrap();
    assert_eq!(a.task.attempts, 1);
    assert!(q.lease("b", TTL).unwrap().is_none() || a.until < now_ms());
    std::thread::sleep(Duration::from_millis(5));
    // a's lease expired: b gets the task, with a higher fence.
    let b = q.lease("b", TTL).unwrap().unwrap();
    assert_eq!(b.task.id, a.task.id);
    assert!(b.fence > a.fence);
    assert_eq!(b.task.attempts, 2);
    // a's writes are refused now.
    assert!(!q.renew(&mut a, TTL).unwrap());
    assert!(!q.set_run(&a, "r-a").unwrap());
    assert!(!q.finish(&a, TaskState::Done, "").unwrap());
    // b's are not.
    assert!(q.set_run(&b, "r-b").unwrap());
    assert!(q.finish(&b, TaskState::Done, "merged").unwrap());
    let t = q.get(&b.task.id).unwrap().unwrap();
    assert_eq!(
        (t.state, t.run_id.as_deref()),
        (TaskState::Done, Some("r-b"))
    );
    assert!(
        q.lease("c", TTL).unwrap().is_none(),
        "a finished task stays finished"
    );
}

#[test]
fn a_redelivered_task_remembers_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 5);
    q.enqueue(task("d1", "s1")).unwrap();
    let a = q.lease("a", Duration::from_millis(1)).unwrap().unwrap();
    assert!(q.set_run(&a, "r-1").unwrap());
    std::thread::sleep(Duration::from_millis(5));
    let b = q.lease("b", TTL).unwrap().unwrap();
    assert_eq!(b.task.run_id.as_deref(), Some("r-1"));
    // A restart ends the leases of the process before it.
    assert!(q.lease("c", TTL).unwrap().is_none());
    assert_eq!(q.recover().unwrap(), 1);
    let c = q.lease("c", TTL).unwrap().unwrap();
    assert_eq!(
        (c.task.id, c.task.run_id.as_deref()),
        (b.task.id, Some("r-1"))
    );
}

#[test]
fn a_task_that_never_ends_becomes_a_dead_letter_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 2);
    q.enqueue(task("d1", "s1")).unwrap();
    for _ in 0..2 {
        q.lease("w", Duration::from_millis(1)).unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(q.lease("w", TTL).unwrap().is_none());
    let t = &q.list(1).unwrap()[0];
    assert_eq!(t.state, TaskState::Failed);
    assert!(
        t.reason.contains("gave up after 2 attempts"),
        "{}",
        t.reason
    );
    // A failed subject may be tried again.
    assert!(matches!(
        q.enqueue(task("d2", "s1")).unwrap(),
        Enqueued::Queued { .. }
    ));
}

#[test]
fn what_was_accepted_survives_reopening_and_leases_go_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = {
        let q = queue(&dir, 3);
        (0..5)
            .map(|i| {
                q.enqueue(task(&format!("d{i}"), &format!("s{i}")))
                    .unwrap()
                    .task_id()
                    .to_string()
            })
            .collect()
    };
    let q = queue(&dir, 3);
    for id in &ids {
        assert_eq!(&q.lease("w", TTL).unwrap().unwrap().task.id, id);
    }
}

#[test]
fn the_same_failing_tests_or_title_link_new_work_to_open_work() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let keyed = |d: &str, s: &str, keys: &[&str]| NewTask {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        ..task(d, s)
    };
    let Enqueued::Queued { task_id } = q
        .enqueue(keyed(
            "d1",
            "github:acme/calc#1",
            &["tests:acme/calc:test_calc.test_mean"],
        ))
        .unwrap()
    else {
        panic!()
    };
    // Another source, another subject, the same failing test: linked.
    assert_eq!(
        q.enqueue(keyed(
            "d2",
            "slack:C1:1",
            &["title:acme/calc:x", "tests:acme/calc:test_calc.test_mean"]
        ))
        .unwrap(),
        Enqueued::Linked {
            task_id: task_id.clone(),
            by: "tests:acme/calc:test_calc.test_mean".into()
        }
    );
    assert!(matches!(
        q.enqueue(keyed(
            "d3",
            "slack:C1:2",
            &["tests:acme/calc:test_calc.test_median"]
        ))
        .unwrap(),
        Enqueued::Queued { .. }
    ));
    // Once the first task failed, its keys no longer hold new work back.
    let lease = q.lease("w", TTL).unwrap().unwrap();
    assert_eq!(lease.task.id, task_id);
    assert!(q.finish(&lease, TaskState::Failed, "no").unwrap());
    assert!(matches!(
        q.enqueue(keyed(
            "d4",
            "api:x",
            &["tests:acme/calc:test_calc.test_mean"]
        ))
        .unwrap(),
        Enqueued::Queued { .. }
    ));
}

#[test]
fn a_cancelled_task_is_not_leased_and_its_worker_loses_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let a = q.enqueue(task("d1", "s1")).unwrap().task_id().to_string();
    let b = q.enqueue(task("d2", "s2")).unwrap().task_id().to_string();
    let mut lease = q.lease("w", TTL).unwrap().unwrap();
    assert_eq!(lease.task.id, a);
    assert!(q.set_run(&lease, "r1").unwrap());
    assert_eq!(q.by_run("r1").unwrap().unwrap().id, a);
    assert_eq!(q.cancel(&a, "by hand").unwrap(), Some(TaskState::Running));
    assert_eq!(q.cancel(&b, "by hand").unwrap(), Some(TaskState::Queued));
    assert!(!q.renew(&mut lease, TTL).unwrap());
    assert!(!q.finish(&lease, TaskState::Done, "late").unwrap());
    assert!(q.lease("w", TTL).unwrap().is_none());
    let t = q.get(&a).unwrap().unwrap();
    assert_eq!(
        (t.state, t.reason.as_str()),
        (TaskState::Cancelled, "by hand")
    );
    // An ended task stays as it ended.
    assert_eq!(q.cancel(&a, "again").unwrap(), Some(TaskState::Cancelled));
    assert_eq!(q.get(&a).unwrap().unwrap().reason, "by hand");
    assert_eq!(q.cancel("t-nope", "x").unwrap(), None);
}

#[test]
fn notes_go_to_the_newest_task_about_a_subject() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let a = q
        .enqueue(task("d1", "alert:acme/calc:f1"))
        .unwrap()
        .task_id()
        .to_string();
    assert_eq!(
        q.annotate("alert:acme/calc:f1", "resolved at 10:30")
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(q.annotate("alert:acme/calc:other", "x").unwrap(), None);
    let t = q.get(&a).unwrap().unwrap();
    assert_eq!(t.notes.len(), 1);
    assert_eq!(t.notes[0].note, "resolved at 10:30");
}

#[test]
fn changes_are_listed_oldest_first_from_a_time_on() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let a = q.enqueue(task("d1", "s1")).unwrap().task_id().to_string();
    std::thread::sleep(Duration::from_millis(5));
    let mark = factory_store::db::now_ms();
    let b = q.enqueue(task("d2", "s2")).unwrap().task_id().to_string();
    assert_eq!(
        q.changed_since(mark, 10)
            .unwrap()
            .iter()
            .map(|t| t.id.clone())
            .collect::<Vec<_>>(),
        [b.clone()]
    );
    std::thread::sleep(Duration::from_millis(5));
    let lease = q.lease("w", TTL).unwrap().unwrap();
    assert_eq!(lease.task.id, a);
    let changed: Vec<String> = q
        .changed_since(mark, 10)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(changed, [b, a], "the lease is a change");
}

#[test]
fn remote_claims_fence_out_older_holders_and_a_dead_letter_ends_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(&dir, 3);
    let id = q.enqueue(task("d1", "s1")).unwrap().task_id().to_string();
    assert_eq!(q.assign_run(&id, "r1").unwrap().as_deref(), Some("r1"));
    assert_eq!(
        q.assign_run(&id, "r2").unwrap().as_deref(),
        Some("r1"),
        "the run is chosen once"
    );
    assert!(q.remote_claim(&id, "w1", 1).unwrap());
    assert!(q.remote_claim(&id, "w2", 2).unwrap(), "w1 died; w2 took it");
    assert!(
        !q.remote_claim(&id, "w1", 1).unwrap(),
        "an older claim is refused"
    );
    assert!(
        !q.remote_end(&id, 1, TaskState::Done, "w1 finished")
            .unwrap(),
        "the old holder cannot end it"
    );
    let t = q.get(&id).unwrap().unwrap();
    assert_eq!(
        (t.state, t.worker.as_deref(), t.attempts),
        (TaskState::Running, Some("w2"), 2)
    );
    assert!(q.remote_end(&id, 2, TaskState::Done, "ok").unwrap());
    assert!(
        !q.remote_end(&id, 2, TaskState::Failed, "again").unwrap(),
        "it ends once"
    );
    assert!(
        !q.dead_letter(&id, "late").unwrap(),
        "an ended task stays ended"
    );
    assert_eq!(q.get(&id).unwrap().unwrap().state, TaskState::Done);

    let id = q.enqueue(task("d2", "s2")).unwrap().task_id().to_string();
    assert!(q.remote_claim(&id, "w1", 1).unwrap());
    assert!(q.dead_letter(&id, "dead letter: 3 deliveries").unwrap());
    let t = q.get(&id).unwrap().unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert!(t.reason.contains("dead letter"), "{}", t.reason);
    assert!(
        !q.remote_end(&id, 1, TaskState::Done, "late").unwrap(),
        "a late end of its last holder is refused"
    );
}
