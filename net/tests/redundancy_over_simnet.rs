//! End-to-end use of the public API: per-tick inputs (up) and confirmed frames (down)
//! sent unreliably with redundancy windows, as bare datagrams on a lossy, jittery
//! simulated network. Every tick must arrive, in order, exactly once at the consumer.

use std::time::Duration;

use venture_net::carrier::simnet::{LinkConfig, SimNet};
use venture_net::carrier::{Carrier, Remote};
use venture_net::protocol::{decode, pack_inputs, ConfirmedFrame, Message};
use venture_net::redundancy::{Insert, Prefer, ReceiveTracker, RedundancyWindow};
use venture_net::server::frames::pack_frames;
use venture_sim::{Frame, PlayerInput};

const START: u64 = 1;
const TICKS: u64 = 300;

fn input_for(t: u64) -> PlayerInput {
    PlayerInput {
        move_x: (t % 100) as i8,
        buttons: (t % 7) as u8,
        ..PlayerInput::IDLE
    }
}

fn run(seed: u64) -> (Vec<u64>, u64) {
    let net = SimNet::new(seed);
    net.set_default_link(LinkConfig {
        latency: Duration::from_millis(120),
        jitter: Duration::from_millis(40),
        loss_permille: 200,
        duplicate_permille: 30,
        reorder_permille: 50,
        reorder_delay: Duration::from_millis(80),
    })
    .expect("valid link");
    let mut server = net.bind_any().expect("bind");
    let mut client = net.bind_any().expect("bind");
    let (saddr, caddr) = (Remote::udp(server.addr()), Remote::udp(client.addr()));
    let mut buf = [0u8; 2048];

    let mut client_inputs: RedundancyWindow<PlayerInput> = RedundancyWindow::new(START, 512);
    let mut server_inputs: ReceiveTracker<PlayerInput> = ReceiveTracker::new(START, 512);
    let mut server_frames: RedundancyWindow<ConfirmedFrame> = RedundancyWindow::new(START, 512);
    let mut client_frames: ReceiveTracker<ConfirmedFrame> = ReceiveTracker::new(START, 512);
    let mut applied = Vec::new();
    let mut late = 0u64;

    let tick = Duration::from_millis(50);
    for t in START..START + TICKS + 100 {
        // Client: new input for tick t, then the whole unacked window (newest that fit).
        if t < START + TICKS {
            client_inputs.push(t, input_for(t)).expect("consecutive");
        }
        if let Some(first) = client_inputs.first_tick() {
            let items: Vec<PlayerInput> = client_inputs.iter().map(|(_, i)| *i).collect();
            let ack = client_frames.ack();
            let (bytes, _) = pack_inputs(ack, first, &items).expect("packs");
            client.send(saddr, &bytes);
        }

        // Server: ingest inputs; confirm tick t with what it has.
        while let Some((n, _)) = server.recv(&mut buf) {
            {
                match decode(&buf[..n]).expect("well-formed") {
                    Message::Inputs {
                        ack_tick,
                        first_tick,
                        inputs,
                    } => {
                        server_frames.ack(ack_tick);
                        for (i, inp) in inputs.into_iter().enumerate() {
                            if server_inputs.insert(first_tick + i as u64, inp) == Insert::Late {
                                late += 1;
                            }
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        // The server confirms tick t only once the input for it is in (a test shortcut:
        // the real server repeats the last input instead of waiting).
        while server_frames.next_tick() < START + TICKS
            && server_inputs.contains(server_frames.next_tick())
        {
            let ft = server_frames.next_tick();
            let inp = server_inputs.take(ft).expect("contained");
            let mut f = Frame::new(ft);
            f.set_input(0, inp);
            server_frames
                .push(
                    ft,
                    ConfirmedFrame {
                        frame: f,
                        checksum: ft as u32,
                    },
                )
                .expect("consecutive");
        }
        let input_ack = server_inputs.ack();
        let (first, frames) = server_frames
            .select(usize::MAX, Prefer::Oldest, |_| 0)
            .unwrap_or((server_frames.next_tick(), Vec::new()));
        let packed = pack_frames(first, frames, input_ack, 0, 0, Prefer::Oldest).expect("packs");
        server.send(caddr, &packed.bytes);

        // Client: ingest frames, apply in order, drop acked inputs.
        while let Some((n, _)) = client.recv(&mut buf) {
            {
                if let Message::Frames {
                    first_tick,
                    frames,
                    input_ack,
                    ..
                } = decode(&buf[..n]).expect("well-formed")
                {
                    client_inputs.ack(input_ack);
                    for (i, cf) in frames.into_iter().enumerate() {
                        client_frames.insert(first_tick + i as u64, cf);
                    }
                }
            }
        }
        while let Some((ft, cf)) = client_frames.pop_next() {
            assert_eq!(cf.frame.input(0), input_for(ft));
            applied.push(ft);
        }
        net.advance(tick);
    }
    (applied, late)
}

#[test]
fn every_tick_arrives_in_order_despite_loss() {
    for seed in [1u64, 2, 3, 4, 5] {
        let (applied, late) = run(seed);
        assert_eq!(
            applied,
            (START..START + TICKS).collect::<Vec<_>>(),
            "seed {seed}"
        );
        assert_eq!(late, 0, "seed {seed}");
    }
}

#[test]
fn reproducible() {
    assert_eq!(run(9), run(9));
}
