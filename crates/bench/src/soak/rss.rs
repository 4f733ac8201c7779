//! Is the hub's memory flat? The judgment on its RSS samples.

/// One sample of the hub's resident set size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the soak phase began (negative during the ramp-up).
    pub t: f64,
    /// VmRSS in KiB.
    pub kib: u64,
}

/// How much the RSS may grow between the warm second quarter and the last
/// quarter of the soak phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// Proportional part, e.g. 0.20 for 20 %.
    pub fraction: f64,
    /// Absolute part, KiB.
    pub slack_kib: f64,
}

/// The judgment, with the figures behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Lowest sample of the whole run (ramp-up included), KiB.
    pub min_kib: u64,
    /// Highest sample of the whole run, KiB.
    pub max_kib: u64,
    /// Last sample, KiB.
    pub final_kib: u64,
    /// Mean of the second quarter of the soak phase ("warm"), KiB.
    pub warm_kib: f64,
    /// Mean of the last quarter, KiB.
    pub late_kib: f64,
    /// The most `late_kib` may be: warm × (1 + fraction) + slack.
    pub limit_kib: f64,
    /// Samples in the second and the last quarter.
    pub counts: (usize, usize),
    /// `late_kib <= limit_kib`.
    pub flat: bool,
}

impl Verdict {
    /// Growth from the warm to the late mean, in percent.
    pub fn growth_percent(&self) -> f64 {
        if self.warm_kib <= 0.0 {
            return 0.0;
        }
        (self.late_kib / self.warm_kib - 1.0) * 100.0
    }
}

/// Judges the samples of a soak phase `duration_s` long: the mean of its
/// last quarter against the mean of its second quarter (the first quarter is
/// warm-up: histories filling, allocator arenas growing). Fails when either
/// quarter has no sample.
pub fn judge(samples: &[Sample], duration_s: f64, allowance: Allowance) -> Result<Verdict, String> {
    if samples.is_empty() || duration_s <= 0.0 {
        return Err("no RSS samples".into());
    }
    let mean_between = |from: f64, to: f64| {
        let picked: Vec<u64> = samples
            .iter()
            .filter(|s| s.t >= from && s.t <= to)
            .map(|s| s.kib)
            .collect();
        let n = picked.len();
        (n > 0).then(|| (picked.iter().sum::<u64>() as f64 / n as f64, n))
    };
    let q = duration_s / 4.0;
    let (warm_kib, n_warm) = mean_between(q, 2.0 * q).ok_or_else(|| {
        format!(
            "no RSS sample in the second quarter ({q:.1}–{:.1} s)",
            2.0 * q
        )
    })?;
    let (late_kib, n_late) = mean_between(3.0 * q, duration_s).ok_or_else(|| {
        format!(
            "no RSS sample in the last quarter ({:.1}–{duration_s:.1} s)",
            3.0 * q
        )
    })?;
    let limit_kib = warm_kib * (1.0 + allowance.fraction) + allowance.slack_kib;
    Ok(Verdict {
        min_kib: samples.iter().map(|s| s.kib).min().unwrap_or(0),
        max_kib: samples.iter().map(|s| s.kib).max().unwrap_or(0),
        final_kib: samples.last().map_or(0, |s| s.kib),
        warm_kib,
        late_kib,
        limit_kib,
        counts: (n_warm, n_late),
        flat: late_kib <= limit_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: Allowance = Allowance {
        fraction: 0.20,
        slack_kib: 8.0 * 1024.0,
    };

    fn series(duration: u32, kib: impl Fn(f64) -> u64) -> Vec<Sample> {
        (-5..=duration as i32)
            .map(|t| Sample {
                t: f64::from(t),
                kib: kib(f64::from(t)),
            })
            .collect()
    }

    #[test]
    fn flat_after_warm_up_passes() {
        // Ramp-up and warm-up grow from 10 to 40 MiB, then a plateau with
        // allocator noise of ±1 MiB.
        let s = series(300, |t| {
            if t < 60.0 {
                10_240 + (t.max(0.0) * 512.0) as u64
            } else {
                40_960 + if (t as i64) % 2 == 0 { 1024 } else { 0 }
            }
        });
        let v = judge(&s, 300.0, ALLOW).unwrap();
        assert!(v.flat, "{v:?}");
        assert!(v.growth_percent().abs() < 2.0, "{v:?}");
        assert_eq!(v.min_kib, 10_240);
        assert_eq!(v.counts, (76, 76));
    }

    #[test]
    fn steady_growth_fails() {
        // A leak: 200 KiB a second on top of 40 MiB, 60 MiB over the run.
        let s = series(300, |t| 40_960 + (t.max(0.0) * 200.0) as u64);
        let v = judge(&s, 300.0, ALLOW).unwrap();
        assert!(!v.flat, "{v:?}");
        assert!(v.late_kib > v.limit_kib);
        assert_eq!(v.final_kib, 40_960 + 60_000);
    }

    #[test]
    fn the_absolute_slack_covers_a_small_hub() {
        // 10 → 17 MiB is 70 % but only 7 MiB: within 20 % + 8 MiB.
        let s = series(40, |t| if t < 25.0 { 10_240 } else { 17_408 });
        assert!(judge(&s, 40.0, ALLOW).unwrap().flat);
        // 10 → 21 MiB is past 12 + 8 = 20 MiB.
        let s = series(40, |t| if t < 25.0 { 10_240 } else { 21_504 });
        assert!(!judge(&s, 40.0, ALLOW).unwrap().flat);
    }

    #[test]
    fn too_few_samples_is_an_error() {
        assert!(judge(&[], 30.0, ALLOW).is_err());
        let only_early = [Sample { t: 1.0, kib: 5 }, Sample { t: 10.0, kib: 5 }];
        let err = judge(&only_early, 30.0, ALLOW).unwrap_err();
        assert!(err.contains("last quarter"), "{err}");
    }
}
