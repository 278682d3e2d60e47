//! Which messages a replay protocol only learns from, which it scores, and in what steps.

use std::ops::Range;

use serde::Serialize;

/// Messages per batch in the batch protocol (Bekkerman, McCallum & Huang 2004).
pub const BATCH_SIZE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Learn from the first 100·k messages, suggest for the next 100, for k = 1, 2, …
    Batch,
    /// Suggest for each message from everything filed before it, then file it.
    Online,
}

impl Protocol {
    /// What the protocol does, for the report.
    pub fn describe(self) -> String {
        match self {
            Protocol::Batch => format!(
                "batch: messages in date order; the first {BATCH_SIZE} only train; then each next \
                 {BATCH_SIZE} are suggested for with everything filed before the batch, then filed"
            ),
            Protocol::Online => "online: messages in date order; each is suggested for with \
                                 everything filed before it, then filed; the first message only \
                                 trains (nothing is filed before it), so scoring starts at the \
                                 second"
                .into(),
        }
    }

    fn step_size(self) -> usize {
        match self {
            Protocol::Batch => BATCH_SIZE,
            Protocol::Online => 1,
        }
    }
}

/// One step of a replay: if `scored`, every message in `messages` is suggested for with what
/// was filed before the step; then all of them are filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub messages: Range<usize>,
    pub scored: bool,
}

/// The steps for `count` messages in date order. The first step only trains: with nothing
/// filed yet there is nothing to suggest from.
pub fn schedule(protocol: Protocol, count: usize) -> Vec<Step> {
    let size = protocol.step_size();
    (0..count)
        .step_by(size)
        .map(|start| Step {
            messages: start..(start + size).min(count),
            scored: start > 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(steps: &[Step]) -> usize {
        steps
            .iter()
            .filter(|s| s.scored)
            .map(|s| s.messages.len())
            .sum()
    }

    #[test]
    fn batch_trains_on_the_first_hundred_then_scores_each_next_hundred() {
        let steps = schedule(Protocol::Batch, 250);
        assert_eq!(
            steps,
            [
                Step {
                    messages: 0..100,
                    scored: false
                },
                Step {
                    messages: 100..200,
                    scored: true
                },
                Step {
                    messages: 200..250,
                    scored: true
                },
            ]
        );
        assert_eq!(scored(&steps), 150);
    }

    #[test]
    fn batch_scores_nothing_without_a_second_batch() {
        assert_eq!(scored(&schedule(Protocol::Batch, 100)), 0);
        assert_eq!(scored(&schedule(Protocol::Batch, 101)), 1);
        assert!(schedule(Protocol::Batch, 0).is_empty());
    }

    #[test]
    fn online_scores_every_message_from_the_second_one_at_a_time() {
        let steps = schedule(Protocol::Online, 3);
        assert_eq!(
            steps,
            [
                Step {
                    messages: 0..1,
                    scored: false
                },
                Step {
                    messages: 1..2,
                    scored: true
                },
                Step {
                    messages: 2..3,
                    scored: true
                },
            ]
        );
        assert_eq!(scored(&schedule(Protocol::Online, 1966)), 1965);
    }
}
