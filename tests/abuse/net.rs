//! Network: HTTP, TCP, UDP and DNS under one policy.

use super::*;

#[tokio::test]
async fn http_to_an_ungranted_host_is_refused_and_journaled() {
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net("https://example.com".parse().unwrap())],
    )
    .await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": "https://evil.example.net/x"}),
        )
        .await,
    );
    assert_eq!(r["ok"], false);
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.contains("evil.example.net")
                && m.contains("--net https://evil.example.net:443")),
        "{d:?}"
    );
    // Same host, another port.
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": "https://example.com:8443/"}),
        )
        .await,
    );
    assert_eq!(r["ok"], false);
    assert!(
        env.denials("attacker")
            .iter()
            .any(|m| m.contains("example.com:8443"))
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn http_to_loopback_private_and_metadata_is_refused_even_under_a_wildcard() {
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net("http://*:*".parse().unwrap())],
    )
    .await;
    for url in [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
    ] {
        let r = ok_json(
            &env.call("attacker", json!({"attack": "http", "target": url}))
                .await,
        );
        assert_eq!(r["ok"], false, "{url}: {r}");
    }
    let d = env.denials("attacker");
    assert!(d.iter().any(|m| m.contains("cloud metadata")), "{d:?}");
    assert!(d.iter().any(|m| m.contains("loopback")), "{d:?}");
    assert!(d.iter().any(|m| m.contains("private")), "{d:?}");
}

#[tokio::test]
async fn http_to_an_explicitly_granted_loopback_address_works() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net(
            format!("http://127.0.0.1:{port}").parse().unwrap(),
        )],
    )
    .await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": format!("http://127.0.0.1:{port}/")}),
        )
        .await,
    );
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["body"], "hello");
}

#[tokio::test]
async fn raw_tcp_udp_and_dns_are_refused_without_grants() {
    let env = setup(TrustLevel::Full, &[]).await;
    let t = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": 22}),
        )
        .await,
    );
    assert_eq!(t["ok"], false, "{t}");
    let u = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "udp", "target": "8.8.8.8", "port": 53}),
        )
        .await,
    );
    assert_eq!(u["ok"], false, "{u}");
    let n = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "dns", "target": "example.com"}),
        )
        .await,
    );
    assert_eq!(n["ok"], false, "{n}");
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.starts_with("dns denied") && m.contains("--net dns://example.com")),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|m| m.starts_with("socket denied") && m.contains("udp")),
        "{d:?}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn tcp_to_a_granted_port_works_and_other_ports_do_not() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net(
            format!("tcp://127.0.0.1:{port}").parse().unwrap(),
        )],
    )
    .await;
    let ok = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": port}),
        )
        .await,
    );
    assert_eq!(ok["ok"], true, "{ok}");
    let other = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "tcp", "target": "127.0.0.1", "port": port.wrapping_add(1)}),
        )
        .await,
    );
    assert_eq!(other["ok"], false);
    drop(listener);
}

#[tokio::test]
async fn http_to_a_name_that_resolves_to_loopback_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let env = setup(
        TrustLevel::Draft,
        &[Grant::Net("http://*:*".parse().unwrap())],
    )
    .await;
    // A wildcard matches the name, but it does not name the loopback
    // address the name resolves to (only `localhost` or `127.0.0.1` would).
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "http", "target": format!("http://localhost:{port}/")}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    assert!(listener.accept().is_err(), "the guest reached the listener");
    let d = env.denials("attacker");
    assert!(
        d.iter()
            .any(|m| m.contains("localhost") && m.contains("loopback")),
        "{d:?}"
    );
    still_serves(&env).await;
}

#[tokio::test]
async fn tcp_to_private_and_metadata_addresses_is_refused_under_a_wildcard() {
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net("tcp://*:*".parse().unwrap())],
    )
    .await;
    for (addr, port) in [
        ("127.0.0.1", 22),
        ("10.1.2.3", 80),
        ("192.168.0.1", 80),
        ("169.254.169.254", 80),
        ("0.0.0.0", 80),
    ] {
        let r = ok_json(
            &env.call(
                "attacker",
                json!({"attack": "tcp", "target": addr, "port": port}),
            )
            .await,
        );
        assert_eq!(r["ok"], false, "{addr}: {r}");
    }
    let d = env.denials("attacker");
    assert!(d.iter().any(|m| m.contains("169.254.169.254")), "{d:?}");
    still_serves(&env).await;
}

#[tokio::test]
async fn listening_for_inbound_connections_is_refused() {
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net("tcp://*:*".parse().unwrap())],
    )
    .await;
    let r = ok_json(
        &env.call("attacker", json!({"attack": "listen", "port": 0}))
            .await,
    );
    assert_eq!(r["ok"], false, "{r}");
    still_serves(&env).await;
}

#[tokio::test]
async fn udp_to_a_granted_address_works_positive_control() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net(
            format!("udp://127.0.0.1:{port}").parse().unwrap(),
        )],
    )
    .await;
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "udp", "target": "127.0.0.1", "port": port}),
        )
        .await,
    );
    assert_eq!(r["ok"], true, "{r}");
    let mut buf = [0u8; 16];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"x");
    // Another port of the same address is not granted.
    let r = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "udp", "target": "127.0.0.1", "port": port.wrapping_add(1)}),
        )
        .await,
    );
    assert_eq!(r["ok"], false, "{r}");
}

#[tokio::test]
async fn dns_lookup_of_a_granted_name_works_positive_control() {
    let env = setup(
        TrustLevel::Scoped,
        &[Grant::Net("dns://localhost".parse().unwrap())],
    )
    .await;
    let r = ok_json(
        &env.call("attacker", json!({"attack": "dns", "target": "localhost"}))
            .await,
    );
    assert_eq!(r["ok"], true, "{r}");
    let other = ok_json(
        &env.call(
            "attacker",
            json!({"attack": "dns", "target": "metadata.google.internal"}),
        )
        .await,
    );
    assert_eq!(other["ok"], false, "{other}");
    assert!(
        env.denials("attacker")
            .iter()
            .any(|m| m.contains("metadata.google.internal")),
    );
}
