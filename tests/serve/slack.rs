//! Slack: the signing secret and its 5-minute window, url_verification,
//! mentions and slash commands, and Slack's retries of one event.

use super::*;

fn mention(event_id: &str, ts: &str, text: &str) -> Vec<u8> {
    json!({
        "type": "event_callback", "event_id": event_id, "team_id": "T1", "api_app_id": "A1",
        "event": {"type": "app_mention", "user": "U1", "channel": "C1", "ts": ts, "text": text},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn slack_requests_are_checked_then_become_tasks_once() {
    let s = Serve::with_workers(0);
    let json_ct = "application/json";
    // Slack's documented example request, correctly signed, is years old:
    // a replay, refused.
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let h = vec![
        ("x-slack-request-timestamp", "1531420618".to_string()),
        (
            "x-slack-signature",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503".to_string(),
        ),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let (code, r) = s.request("POST", "/hooks/slack", &h, body.to_vec());
    assert_eq!(code, 401, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("more than 5 minutes"),
        "{r}"
    );
    // Signed now, but six minutes ago.
    let old = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 360;
    let (code, r) = s.slack(
        &mention("Ev0", "1.0", "<@UBOT> fix it"),
        json_ct,
        Some(old),
        &[],
    );
    assert_eq!(code, 401, "{r}");
    // No signature; a signature with another secret.
    let ev = mention(
        "Ev1",
        "1.1",
        "<@UBOT> acme/calc mean() crashes on an empty list",
    );
    let (code, _) = s.request(
        "POST",
        "/hooks/slack",
        &[("content-type", json_ct.into())],
        ev.clone(),
    );
    assert_eq!(code, 401);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = vec![
        ("x-slack-request-timestamp", now.to_string()),
        ("x-slack-signature", format!("v0={}", "00".repeat(32))),
    ];
    assert_eq!(s.request("POST", "/hooks/slack", &h, ev.clone()).0, 401);
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks, json!([]), "nothing stored before a good signature");

    // url_verification is answered.
    let v = json!({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"});
    let (code, r) = s.slack(v.to_string().as_bytes(), json_ct, None, &[]);
    assert_eq!(
        (code, &r["challenge"]),
        (
            200,
            &json!("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        ),
        "{r}"
    );

    // A mention: a task in the chat format, for the repository it names.
    let (code, r) = s.slack(&ev, json_ct, None, &[]);
    assert_eq!((code, &r["outcome"]), (200, &json!("queued")), "{r}");
    let task = r["task_id"].as_str().unwrap().to_string();
    // Slack's retries of the same event: the same task.
    for n in ["1", "2"] {
        let retry = [
            ("x-slack-retry-num", n.to_string()),
            ("x-slack-retry-reason", "http_timeout".to_string()),
        ];
        let (code, r) = s.slack(&ev, json_ct, None, &retry);
        assert_eq!(
            (code, &r["outcome"], r["task_id"].as_str()),
            (200, &json!("duplicate"), Some(task.as_str())),
            "{r}"
        );
    }
    let (_, t) = s.api("GET", &format!("/api/tasks/{task}"), "");
    assert_eq!(
        (
            t["source"].as_str(),
            t["format"].as_str(),
            t["repo"].as_str()
        ),
        (Some("slack"), Some("chat"), Some("acme/calc"))
    );
    assert_eq!(t["title"], "mean() crashes on an empty list");
    let spec: Value = serde_json::from_str(t["spec"].as_str().unwrap()).unwrap();
    assert_eq!(spec["event"]["text"], "mean() crashes on an empty list");

    // The same words in another thread: a near-identical title, linked.
    let (code, r) = s.slack(
        &mention("Ev2", "2.0", "<@UBOT> Mean crashes on empty list!"),
        json_ct,
        None,
        &[],
    );
    assert_eq!(
        (code, &r["outcome"], r["task_id"].as_str()),
        (200, &json!("linked"), Some(task.as_str())),
        "{r}"
    );

    // A slash command: the person who typed it is answered.
    let cmd = b"command=%2Ffactory&text=acme%2Fcalc+document+the+median+function&user_id=U2&channel_id=C2&team_id=T1&trigger_id=13345224609.738474920.8088930838d88f008e0";
    let (code, r) = s.slack(cmd, "application/x-www-form-urlencoded", None, &[]);
    assert_eq!(
        (code, &r["outcome"], &r["response_type"]),
        (200, &json!("queued"), &json!("ephemeral")),
        "{r}"
    );
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains(r["task_id"].as_str().unwrap()),
        "{r}"
    );

    // Bots and other events start nothing; another repository is refused.
    let bot = json!({"type": "event_callback", "event_id": "Ev3", "event": {"type": "app_mention", "bot_id": "B1", "channel": "C1", "ts": "3", "text": "<@UBOT> run"}});
    let (code, r) = s.slack(bot.to_string().as_bytes(), json_ct, None, &[]);
    assert_eq!(code, 200);
    assert!(r["ignored"].as_str().unwrap().contains("bots"), "{r}");
    let (code, r) = s.slack(
        &mention("Ev4", "4", "<@UBOT> evil/repo do it"),
        json_ct,
        None,
        &[],
    );
    assert_eq!(code, 400, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("--repo evil/repo=PATH"),
        "{r}"
    );
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks.as_array().unwrap().len(), 2, "{tasks}");
}
