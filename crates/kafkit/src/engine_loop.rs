//! The loop both consumers' engines run (`consumer/engine/`, `share/engine/mod.rs`): one task per
//! consumer owns all of its state. Each turn it moves its state machines on
//! ([`Turns::step`]), stops once [`Turns::finished`], then waits for the first of: a report
//! from a task it started (a request, a hook, a lookup), a command from a handle, or its next
//! deadline. Reports come first: they free what commands may be waiting for. Slow work never
//! runs in the loop itself, so heartbeats never queue behind a long poll or the user's code.

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// An engine the loop drives: `C` is what a handle asks, `R` what a task the engine started
/// reports back.
pub(crate) trait Turns<C, R> {
    /// Everything that may be done now without waiting.
    fn step(&mut self, now: Instant);
    /// Whether the engine is done (closed, or stopped by an error); answers whoever waits.
    fn finished(&mut self) -> bool;
    /// When the loop must turn again at the latest, even if nothing arrives.
    fn next_deadline(&self, now: Instant) -> Instant;
    fn on_report(&mut self, report: R);
    fn on_command(&mut self, command: C);
    /// Every handle was dropped: the consumer closes as if asked to.
    fn on_handles_gone(&mut self);
}

/// Where an engine's commands and reports arrive.
pub(crate) struct Inbox<C, R> {
    pub commands: UnboundedReceiver<C>,
    pub reports: UnboundedReceiver<R>,
}

/// Runs `engine` until it is finished.
pub(crate) async fn run<C, R, E: Turns<C, R>>(engine: &mut E, inbox: &mut Inbox<C, R>) {
    // Once every handle is gone the command channel stays closed: it is not polled again.
    let mut handles = true;
    loop {
        let now = Instant::now();
        engine.step(now);
        if engine.finished() {
            return;
        }
        let deadline = engine.next_deadline(now);
        tokio::select! {
            biased;
            Some(report) = inbox.reports.recv() => engine.on_report(report),
            command = inbox.commands.recv(), if handles => match command {
                Some(c) => engine.on_command(c),
                None => {
                    handles = false;
                    engine.on_handles_gone();
                }
            },
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    /// Counts what the loop hands it; finishes after `stop_after` commands or when the
    /// handles are gone.
    #[derive(Default)]
    struct Counter {
        steps: usize,
        commands: Vec<u32>,
        reports: Vec<u32>,
        gone: usize,
        deadline: Option<Instant>,
    }

    impl Turns<u32, u32> for Counter {
        fn step(&mut self, _: Instant) {
            self.steps += 1;
        }
        fn finished(&mut self) -> bool {
            self.gone > 0 || self.commands.len() >= 3
        }
        fn next_deadline(&self, now: Instant) -> Instant {
            self.deadline.unwrap_or(now + Duration::from_secs(1))
        }
        fn on_report(&mut self, r: u32) {
            self.reports.push(r);
        }
        fn on_command(&mut self, c: u32) {
            self.commands.push(c);
        }
        fn on_handles_gone(&mut self) {
            self.gone += 1;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reports_come_before_commands_and_each_turn_steps() {
        let (ctx, commands) = mpsc::unbounded_channel();
        let (rtx, reports) = mpsc::unbounded_channel();
        let mut inbox = Inbox { commands, reports };
        for i in 0..3 {
            ctx.send(i).unwrap();
            rtx.send(10 + i).unwrap();
        }
        let mut e = Counter::default();
        run(&mut e, &mut inbox).await;
        assert_eq!(e.reports, vec![10, 11, 12], "every report first");
        assert_eq!(e.commands, vec![0, 1, 2]);
        assert_eq!(e.steps, 7, "a step before every turn and before finishing");
        assert_eq!(e.gone, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_handles_are_told_once_and_deadlines_turn_the_loop() {
        let (ctx, commands) = mpsc::unbounded_channel::<u32>();
        let (_rtx, reports) = mpsc::unbounded_channel();
        let mut inbox = Inbox { commands, reports };
        let mut e = Counter {
            deadline: Some(Instant::now() + Duration::from_millis(10)),
            ..Counter::default()
        };
        drop(ctx);
        run(&mut e, &mut inbox).await;
        assert_eq!(e.gone, 1);
        // A loop that never finishes on its own turns at each deadline.
        struct Ticks(usize);
        impl Turns<(), ()> for Ticks {
            fn step(&mut self, _: Instant) {
                self.0 += 1;
            }
            fn finished(&mut self) -> bool {
                self.0 > 5
            }
            fn next_deadline(&self, now: Instant) -> Instant {
                now + Duration::from_millis(100)
            }
            fn on_report(&mut self, _: ()) {}
            fn on_command(&mut self, _: ()) {}
            fn on_handles_gone(&mut self) {}
        }
        let (_c, commands) = mpsc::unbounded_channel();
        let (_r, reports) = mpsc::unbounded_channel();
        let started = Instant::now();
        run(&mut Ticks(0), &mut Inbox { commands, reports }).await;
        assert_eq!(started.elapsed(), Duration::from_millis(500));
    }
}
