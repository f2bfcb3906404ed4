//! Seeded convergence tests: many random scenarios, each with faults, each must converge.
//!
//! `TESSERA_SIM_SCENARIOS` sets how many seeds run (default 1,000); `TESSERA_SIM_SEED` runs one
//! seed alone, to reproduce a failure.

mod sim;

use sim::{Faults, Sim};

fn scenario(seed: u64) -> sim::Stats {
    let clients = 3 + (seed % 2) as usize;
    let mut sim = Sim::new(seed, clients, Faults::chaotic());
    sim.run_chaos(400);
    sim.run_until_quiet();
    sim.assert_converged();
    sim.stats.clone()
}

#[test]
fn seeded_scenarios_converge() {
    if let Ok(seed) = std::env::var("TESSERA_SIM_SEED") {
        let seed: u64 = seed.parse().expect("TESSERA_SIM_SEED is a number");
        println!("{:?}", scenario(seed));
        return;
    }
    let n: u64 = std::env::var("TESSERA_SIM_SCENARIOS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    // Scenarios are independent: spread them over the machine's cores.
    let threads = std::thread::available_parallelism().map_or(2, usize::from) as u64;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = sim::Stats::default();
                for seed in (t..n).step_by(threads as usize) {
                    let stats = match std::panic::catch_unwind(|| scenario(seed)) {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!(
                                "scenario seed {seed} failed; rerun with TESSERA_SIM_SEED={seed}"
                            );
                            std::panic::resume_unwind(e);
                        }
                    };
                    total.add(&stats);
                }
                total
            })
        })
        .collect();
    let mut total = sim::Stats::default();
    for w in workers {
        let stats = w.join().expect("a scenario failed (see above)");
        total.add(&stats);
    }
    println!("{n} scenarios converged: {total:?}");
    // The scenarios must actually exercise the faults they claim to.
    assert!(total.relay_restarts > n / 2, "{total:?}");
    assert!(total.drops > n / 2, "{total:?}");
    assert!(total.edits > n * 50, "{total:?}");
}
