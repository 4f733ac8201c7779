//! This host's figures: CPU, memory, swap, network, disk and load, read
//! with sysinfo. The agent and the hub's `--collector` both sample with
//! [`Probe`], so a source looks the same whoever publishes it.
//!
//! | metric | unit |
//! |---|---|
//! | `cpu.total`, `cpu.core.<n>` | % of one core / of all cores |
//! | `mem.used_bytes`, `mem.total_bytes`, `mem.used_percent` | bytes, % |
//! | `swap.used_bytes`, `swap.used_percent` | bytes, % |
//! | `net.rx_bytes_per_s`, `net.tx_bytes_per_s` | bytes/s, all interfaces but `lo` |
//! | `disk.used_bytes`, `disk.total_bytes`, `disk.used_percent` | bytes, % of the root file system |
//! | `load.1`, `load.5`, `load.15` | load average |

use std::collections::BTreeMap;

use sysinfo::{Disks, Networks, System};
use tokio::time::Instant;

/// Reads the machine's figures with sysinfo.
pub struct Probe {
    system: System,
    networks: Networks,
    disks: Disks,
    last_net: Instant,
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe {
    /// A probe; the first [`Probe::sample`] should come an interval later,
    /// since CPU usage is the difference between two readings.
    pub fn new() -> Self {
        let mut system = System::new();
        system.refresh_cpu_usage();
        Self {
            system,
            networks: Networks::new_with_refreshed_list(),
            disks: Disks::new_with_refreshed_list(),
            last_net: Instant::now(),
        }
    }

    /// One reading of every metric in the table above.
    pub fn sample(&mut self) -> BTreeMap<String, f64> {
        let mut values = BTreeMap::new();
        self.cpu(&mut values);
        self.memory(&mut values);
        self.network(&mut values);
        self.disk(&mut values);
        let load = System::load_average();
        values.insert("load.1".into(), load.one);
        values.insert("load.5".into(), load.five);
        values.insert("load.15".into(), load.fifteen);
        values
    }

    fn cpu(&mut self, values: &mut BTreeMap<String, f64>) {
        self.system.refresh_cpu_usage();
        values.insert(
            "cpu.total".into(),
            round(self.system.global_cpu_usage() as f64),
        );
        for (n, cpu) in self.system.cpus().iter().enumerate() {
            values.insert(format!("cpu.core.{n}"), round(cpu.cpu_usage() as f64));
        }
    }

    fn memory(&mut self, values: &mut BTreeMap<String, f64>) {
        self.system.refresh_memory();
        let (used, total) = (
            self.system.used_memory() as f64,
            self.system.total_memory() as f64,
        );
        values.insert("mem.used_bytes".into(), used);
        values.insert("mem.total_bytes".into(), total);
        values.insert("mem.used_percent".into(), percent(used, total));
        let (used, total) = (
            self.system.used_swap() as f64,
            self.system.total_swap() as f64,
        );
        values.insert("swap.used_bytes".into(), used);
        values.insert("swap.used_percent".into(), percent(used, total));
    }

    fn network(&mut self, values: &mut BTreeMap<String, f64>) {
        self.networks.refresh(true);
        let elapsed = self.last_net.elapsed().as_secs_f64().max(0.001);
        self.last_net = Instant::now();
        let real = || {
            self.networks
                .iter()
                .filter(|(name, _)| name.as_str() != "lo")
        };
        let rx: u64 = real().map(|(_, data)| data.received()).sum();
        let tx: u64 = real().map(|(_, data)| data.transmitted()).sum();
        values.insert("net.rx_bytes_per_s".into(), round(rx as f64 / elapsed));
        values.insert("net.tx_bytes_per_s".into(), round(tx as f64 / elapsed));
    }

    fn disk(&mut self, values: &mut BTreeMap<String, f64>) {
        self.disks.refresh(true);
        let disks = self.disks.list();
        let root = disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"));
        let Some(disk) = root.or_else(|| disks.first()) else {
            return;
        };
        let total = disk.total_space() as f64;
        let used = total - disk.available_space() as f64;
        values.insert("disk.used_bytes".into(), used);
        values.insert("disk.total_bytes".into(), total);
        values.insert("disk.used_percent".into(), percent(used, total));
    }
}

/// `used` as a percentage of `total` (0 for no total), rounded like every
/// collected value; the exporter scrape uses it too, so both give the
/// same figures.
pub(crate) fn percent(used: f64, total: f64) -> f64 {
    if total <= 0.0 {
        0.0
    } else {
        round(used / total * 100.0)
    }
}

/// Two decimals: what a chart legend shows.
pub(crate) fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_the_documented_metrics() {
        let mut probe = Probe::new();
        let values = probe.sample();
        for name in [
            "cpu.total",
            "cpu.core.0",
            "mem.used_percent",
            "net.rx_bytes_per_s",
            "load.1",
        ] {
            assert!(values.contains_key(name), "missing {name}: {values:?}");
        }
        let mem = values["mem.used_percent"];
        assert!((0.0..=100.0).contains(&mem), "{mem}");
    }
}
