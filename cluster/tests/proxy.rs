//! The fault proxy on real UDP sockets on 127.0.0.1, against what the two ends saw: a
//! clean path carries every datagram both ways; a lossy one drops and duplicates about the
//! fractions asked (counted at the receiver, not by the proxy) and reorders under delay; a
//! blocked one carries nothing until unblocked. Every wait is bounded, so a fault in the
//! proxy fails the test instead of hanging it.

use std::collections::HashMap;
use std::time::Duration;

use pluriverse_cluster::proxy::{Faults, Proxy};
use tokio::net::UdpSocket;
use tokio::time::timeout;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Datagrams arriving at `sock` until none has come for `quiet`: their bodies, in order.
async fn drain(sock: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(r) = timeout(quiet, sock.recv_from(&mut buf)).await {
        let (n, _) = r.unwrap();
        got.push(buf[..n].to_vec());
    }
    got
}

const CLEAN: Faults = Faults {
    loss: 0.0,
    dup: 0.0,
    delay: Duration::ZERO,
};

#[test]
fn a_clean_path_carries_every_datagram_both_ways_and_a_partition_none() {
    runtime().block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let p = Proxy::start(
            Some(server.local_addr().unwrap()),
            CLEAN,
            7,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..200u32 {
            client.send_to(&i.to_le_bytes(), p.addr()).await.unwrap();
        }
        let mut buf = [0u8; 64];
        let mut from = None;
        let mut seen = Vec::new();
        for _ in 0..200 {
            let (n, f) = timeout(Duration::from_secs(5), server.recv_from(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "{} datagrams of 200 through a clean proxy: {:?}",
                        seen.len(),
                        p.stats()
                    )
                })
                .unwrap();
            seen.push(u32::from_le_bytes(buf[..n].try_into().unwrap()));
            from = Some(f);
        }
        assert_eq!(
            seen,
            (0..200).collect::<Vec<_>>(),
            "no delay: in order, none lost"
        );
        // the answers go back through the proxy's own socket
        let back = from.unwrap();
        assert_ne!(back, client.local_addr().unwrap());
        server.send_to(b"back", back).await.unwrap();
        let (n, f) = timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .expect("the answer through the proxy")
            .unwrap();
        assert_eq!((&buf[..n], f), (&b"back"[..], p.addr()));

        // a partition: nothing passes, either way, and every datagram is counted dropped
        p.set_blocked(true);
        let before = p.stats().dropped_partition;
        for _ in 0..50 {
            client.send_to(b"lost", p.addr()).await.unwrap();
            server.send_to(b"lost too", back).await.unwrap();
        }
        assert!(drain(&server, Duration::from_millis(300)).await.is_empty());
        assert!(drain(&client, Duration::from_millis(50)).await.is_empty());
        assert_eq!(p.stats().dropped_partition - before, 100);
        // healed: it carries again
        p.set_blocked(false);
        client.send_to(b"again", p.addr()).await.unwrap();
        let got = drain(&server, Duration::from_millis(500)).await;
        assert_eq!(got, vec![b"again".to_vec()]);
    });
}

#[test]
fn a_lossy_path_drops_and_duplicates_about_what_was_asked_and_reorders() {
    let (n, loss, dup) = (4000u32, 0.2, 0.1);
    runtime().block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let faults = Faults {
            loss,
            dup,
            delay: Duration::from_millis(5),
        };
        let p = Proxy::start(
            Some(server.local_addr().unwrap()),
            faults,
            11,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let recv = tokio::spawn(async move { drain(&server, Duration::from_millis(1000)).await });
        for i in 0..n {
            client.send_to(&i.to_le_bytes(), p.addr()).await.unwrap();
            if i % 64 == 63 {
                // paced: the receiving socket's buffer is not what is tested
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let got = recv.await.unwrap();
        let seq: Vec<u32> = got
            .iter()
            .map(|b| u32::from_le_bytes(b[..].try_into().unwrap()))
            .collect();
        let mut copies: HashMap<u32, u32> = HashMap::new();
        for &s in &seq {
            assert!(s < n, "a datagram never sent: {s}");
            *copies.entry(s).or_default() += 1;
        }
        let delivered = copies.len() as f64 / f64::from(n);
        let twice = copies.values().filter(|&&c| c == 2).count() as f64 / copies.len() as f64;
        assert!(copies.values().all(|&c| c <= 2), "more than two copies");
        // 4,000 draws: the binomial's standard deviations are about 0.0063 and 0.0053
        assert!(
            (delivered - (1.0 - loss)).abs() < 0.04,
            "delivered {delivered}"
        );
        assert!((twice - dup).abs() < 0.04, "duplicated {twice}");
        let inversions = seq.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(inversions > 0, "a random delay up to 5 ms reorders some");
        let st = p.stats();
        assert_eq!(st.datagrams_in, u64::from(n));
        assert_eq!(st.datagrams_out, seq.len() as u64);
        assert_eq!(st.dropped_loss + copies.len() as u64, u64::from(n));
    });
}
