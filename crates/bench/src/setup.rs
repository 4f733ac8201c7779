//! Counting the connections a scenario opens: how many came up, and a few
//! examples of why the others did not.

use tokio::sync::mpsc;

/// Errors kept as examples.
const EXAMPLES: usize = 3;

/// The outcome of opening a scenario's connections.
#[derive(Debug, Default)]
pub struct Setup {
    /// Connections that are ready.
    pub ready: usize,
    /// Connections that failed.
    pub failed: usize,
    /// The first few failures.
    pub errors: Vec<String>,
}

/// Reads one result per connection until every sender is gone.
pub async fn tally(results: &mut mpsc::Receiver<Result<(), String>>) -> Setup {
    let mut setup = Setup::default();
    while let Some(result) = results.recv().await {
        match result {
            Ok(()) => setup.ready += 1,
            Err(e) => {
                setup.failed += 1;
                if setup.errors.len() < EXAMPLES {
                    setup.errors.push(e);
                }
            }
        }
    }
    setup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_and_keeps_a_few_examples() {
        let (tx, mut rx) = mpsc::channel(10);
        for n in 0..6 {
            let result = if n % 3 == 0 {
                Ok(())
            } else {
                Err(format!("e{n}"))
            };
            tx.send(result).await.unwrap();
        }
        drop(tx);
        let setup = tally(&mut rx).await;
        assert_eq!((setup.ready, setup.failed), (2, 4));
        assert_eq!(setup.errors, ["e1", "e2", "e4"]);
    }
}
