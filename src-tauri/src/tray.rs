//! The tray icon: its colour is the worst firing severity, its tooltip the
//! counts, its menu Show, Do not disturb ▸ and Quit.
//!
//! The menu is always set: some Linux panels (AppIndicator) show nothing
//! without one, and there the tooltip is not shown either, so the counts
//! are also the menu's first, disabled line.
//!
//! [`Tray::update`] may be called as often as the caller likes (every
//! alarm transition, every frame): it compares what it would show with
//! what it last showed and only touches the tray on a change.

mod dnd;
mod icon;
mod tally;

use std::sync::Arc;

use chrono::{DateTime, Local, TimeZone};
use parking_lot::Mutex;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::plugin::TauriPlugin;
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

pub use dnd::{is_on as dnd_is_on, next_morning, DndPreset};
pub use icon::IconKind;
pub use tally::{AlarmTally, TraySummary};

use crate::window;

const ID_SHOW: &str = "tray-show";
const ID_STATUS: &str = "tray-status";
const ID_DND_HOUR: &str = "tray-dnd-hour";
const ID_DND_MORNING: &str = "tray-dnd-morning";
const ID_DND_OFF: &str = "tray-dnd-off";
const ID_QUIT: &str = "tray-quit";

/// Called on the main thread when the user picks a "Do not disturb" entry:
/// the new end (unix ms), `None` for off. The shell stores it and calls
/// [`Tray::update`] (or [`Tray::set_dnd`]) with it.
pub type DndCallback<R> = dyn Fn(&AppHandle<R>, Option<i64>) + Send + Sync + 'static;

/// A plugin that creates the tray at start. Where no tray can be made (no
/// tray library, no display) it logs and the app goes on without: then
/// closing the window quits (see [`crate::window`]).
pub fn plugin<R: Runtime>(
    on_dnd: impl Fn(&AppHandle<R>, Option<i64>) + Send + Sync + 'static,
) -> TauriPlugin<R> {
    let on_dnd: Arc<DndCallback<R>> = Arc::new(on_dnd);
    tauri::plugin::Builder::new("telltale-tray")
        .setup(move |app, _| {
            // libappindicator is loaded at run time and panics when absent.
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Tray::create(app, on_dnd.clone())
            }));
            match built {
                Ok(Ok(tray)) => {
                    app.manage(tray);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "no tray icon; closing the window quits"),
                Err(_) => {
                    tracing::warn!("no tray icon (tray library missing?); closing the window quits")
                }
            }
            Ok(())
        })
        .build()
}

/// The tray icon and its menu, managed as app state once created.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    items: Items<R>,
    on_dnd: Arc<DndCallback<R>>,
    /// What [`Tray::update`] was last given and what it last asked for.
    state: Mutex<Inputs>,
    /// What the tray shows; only locked on the main thread, where the tray
    /// is changed, so it is never held while waiting for that thread.
    shown: Mutex<TrayView>,
}

struct Items<R: Runtime> {
    status: MenuItem<R>,
    dnd: Submenu<R>,
    hour: CheckMenuItem<R>,
    morning: CheckMenuItem<R>,
    off: CheckMenuItem<R>,
}

#[derive(Default)]
struct Inputs {
    summary: TraySummary,
    dnd_until: Option<i64>,
    /// The preset last picked in the menu and the end it gave, so the
    /// menu can tick it while that end is the one in force.
    picked: Option<(DndPreset, i64)>,
    wanted: Option<TrayView>,
}

impl<R: Runtime> Tray<R> {
    fn create(app: &AppHandle<R>, on_dnd: Arc<DndCallback<R>>) -> tauri::Result<Self> {
        let view = TrayView::new(&TraySummary::default(), None, None, &Local::now());
        let items = Items {
            status: MenuItem::with_id(app, ID_STATUS, &view.status, false, None::<&str>)?,
            dnd: Submenu::with_id(app, "tray-dnd", &view.dnd_title, true)?,
            hour: CheckMenuItem::with_id(
                app,
                ID_DND_HOUR,
                "For 1 hour",
                true,
                false,
                None::<&str>,
            )?,
            morning: CheckMenuItem::with_id(
                app,
                ID_DND_MORNING,
                view.morning_label,
                true,
                false,
                None::<&str>,
            )?,
            off: CheckMenuItem::with_id(app, ID_DND_OFF, "Off", true, true, None::<&str>)?,
        };
        items
            .dnd
            .append_items(&[&items.hour, &items.morning, &items.off])?;
        let menu = Menu::with_items(
            app,
            &[
                &items.status,
                &PredefinedMenuItem::separator(app)?,
                &MenuItem::with_id(app, ID_SHOW, "Show Telltale", true, None::<&str>)?,
                &items.dnd,
                &PredefinedMenuItem::separator(app)?,
                &MenuItem::with_id(app, ID_QUIT, "Quit", true, None::<&str>)?,
            ],
        )?;
        let icon = TrayIconBuilder::with_id("telltale")
            .icon(Image::new_owned(
                icon::rgba(view.icon),
                icon::SIZE,
                icon::SIZE,
            ))
            .tooltip(&view.tooltip)
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(on_menu_event::<R>)
            .on_tray_icon_event(|tray, event| {
                // Windows and macOS: a left click shows the window (Linux
                // panels only open the menu).
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    window::show_main(tray.app_handle());
                }
            })
            .build(app)?;
        Ok(Self {
            icon,
            items,
            on_dnd,
            state: Mutex::new(Inputs::default()),
            shown: Mutex::new(view),
        })
    }

    /// Shows `summary` and the do-not-disturb state at `now_ms`. Cheap when
    /// nothing changed; from any thread.
    pub fn update(&self, summary: &TraySummary, dnd_until: Option<i64>, now_ms: i64) {
        let now = local_at(now_ms);
        let view = {
            let mut state = self.state.lock();
            state.summary = *summary;
            state.dnd_until = dnd_until;
            let view = TrayView::new(summary, dnd_until, state.picked, &now);
            if state.wanted.as_ref() == Some(&view) {
                return;
            }
            state.wanted = Some(view.clone());
            view
        };
        let app = self.icon.app_handle().clone();
        let posted = self.icon.app_handle().run_on_main_thread(move || {
            if let Some(tray) = app.try_state::<Tray<R>>() {
                tray.show(&view);
            }
        });
        if let Err(e) = posted {
            tracing::debug!(error = %e, "tray not updated");
        }
    }

    /// Do not disturb changed (e.g. in the settings): the same alarms
    /// with the new end.
    pub fn set_dnd(&self, dnd_until: Option<i64>, now_ms: i64) {
        let summary = self.state.lock().summary;
        self.update(&summary, dnd_until, now_ms);
    }

    /// Changes what differs between `view` and what is shown. Main thread.
    fn show(&self, view: &TrayView) {
        let mut shown = self.shown.lock();
        let mut result = Ok(());
        if shown.icon != view.icon {
            let image = Image::new_owned(icon::rgba(view.icon), icon::SIZE, icon::SIZE);
            result = result.and(self.icon.set_icon(Some(image)));
        }
        if shown.tooltip != view.tooltip {
            result = result.and(self.icon.set_tooltip(Some(&view.tooltip)));
        }
        if shown.status != view.status {
            result = result.and(self.items.status.set_text(&view.status));
        }
        if shown.dnd_title != view.dnd_title {
            result = result.and(self.items.dnd.set_text(&view.dnd_title));
        }
        if shown.morning_label != view.morning_label {
            result = result.and(self.items.morning.set_text(view.morning_label));
        }
        // Always: a click toggles a check item by itself.
        result = result.and(self.show_ticks(view.ticked));
        if let Err(e) = result {
            tracing::debug!(error = %e, "tray not fully updated");
        }
        *shown = view.clone();
    }

    fn show_ticks(&self, ticked: Ticked) -> tauri::Result<()> {
        self.items
            .hour
            .set_checked(ticked == Ticked::Preset(DndPreset::ForAnHour))?;
        self.items
            .morning
            .set_checked(ticked == Ticked::Preset(DndPreset::UntilMorning))?;
        self.items.off.set_checked(ticked == Ticked::Off)
    }

    /// A "Do not disturb" entry was picked. Main thread.
    fn pick_dnd(&self, preset: Option<DndPreset>) {
        let now = Local::now();
        let until = preset.map(|p| p.until(&now));
        let view = {
            let mut state = self.state.lock();
            state.picked = preset.zip(until);
            TrayView::new(&state.summary, state.dnd_until, state.picked, &now)
        };
        // Undo the toggle the click made until the shell confirms.
        self.show(&view);
        (self.on_dnd)(self.icon.app_handle(), until);
    }
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let dnd = |preset| {
        if let Some(tray) = app.try_state::<Tray<R>>() {
            tray.pick_dnd(preset);
        }
    };
    match event.id().as_ref() {
        ID_SHOW => window::show_main(app),
        ID_DND_HOUR => dnd(Some(DndPreset::ForAnHour)),
        ID_DND_MORNING => dnd(Some(DndPreset::UntilMorning)),
        ID_DND_OFF => dnd(None),
        ID_QUIT => app.exit(0),
        _ => {}
    }
}

fn local_at(now_ms: i64) -> DateTime<Local> {
    Local
        .timestamp_millis_opt(now_ms)
        .earliest()
        .unwrap_or_else(Local::now)
}

/// Which "Do not disturb" entry carries the tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ticked {
    Off,
    Preset(DndPreset),
    /// On, until a time set elsewhere (the settings): no entry.
    Other,
}

/// Everything the tray shows, derived from its inputs.
#[derive(Debug, Clone, PartialEq)]
struct TrayView {
    icon: IconKind,
    tooltip: String,
    status: String,
    dnd_title: String,
    morning_label: &'static str,
    ticked: Ticked,
}

impl TrayView {
    fn new<Tz: TimeZone>(
        summary: &TraySummary,
        dnd_until: Option<i64>,
        picked: Option<(DndPreset, i64)>,
        now: &DateTime<Tz>,
    ) -> Self
    where
        Tz::Offset: std::fmt::Display,
    {
        let now_ms = now.timestamp_millis();
        let dnd = dnd::is_on(dnd_until, now_ms).then_some(dnd_until).flatten();
        let counts = summary.counts_text();
        let (tooltip, dnd_title, ticked) = match dnd {
            None => (
                format!("Telltale — {counts}"),
                "Do not disturb".to_owned(),
                Ticked::Off,
            ),
            Some(until) => {
                let when = dnd::until_text(until, now);
                let ticked = match picked {
                    Some((preset, end)) if end == until => Ticked::Preset(preset),
                    _ => Ticked::Other,
                };
                (
                    format!("Telltale — {counts} (do not disturb {when})"),
                    format!("Do not disturb ({when})"),
                    ticked,
                )
            }
        };
        Self {
            icon: IconKind {
                worst: summary.worst(),
                dnd: dnd.is_some(),
            },
            tooltip,
            status: capitalised(&counts),
            dnd_title,
            morning_label: dnd::morning_label(now),
            ticked,
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, TimeZone};
    use telltale_protocol::Severity;

    use super::*;

    fn now() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 30, 13, 0, 0)
            .unwrap()
    }

    fn summary(critical: u32, warning: u32) -> TraySummary {
        TraySummary {
            critical,
            warning,
            info: 0,
        }
    }

    #[test]
    fn tooltip_says_the_counts_or_all_clear() {
        let view = TrayView::new(&summary(2, 1), None, None, &now());
        assert_eq!(view.tooltip, "Telltale — 2 critical, 1 warning");
        assert_eq!(view.status, "2 critical, 1 warning");
        assert_eq!(
            view.icon,
            IconKind {
                worst: Some(Severity::Critical),
                dnd: false
            }
        );
        assert_eq!(view.ticked, Ticked::Off);
        let clear = TrayView::new(&TraySummary::default(), None, None, &now());
        assert_eq!(clear.tooltip, "Telltale — all clear");
        assert_eq!(clear.status, "All clear");
        assert_eq!(clear.icon.worst, None);
    }

    #[test]
    fn do_not_disturb_shows_until_when_and_ticks_the_preset_that_set_it() {
        let until = DndPreset::ForAnHour.until(&now());
        let picked = Some((DndPreset::ForAnHour, until));
        let view = TrayView::new(&summary(0, 1), Some(until), picked, &now());
        assert_eq!(
            view.tooltip,
            "Telltale — 1 warning (do not disturb until 14:00)"
        );
        assert_eq!(view.dnd_title, "Do not disturb (until 14:00)");
        assert!(view.icon.dnd);
        assert_eq!(view.ticked, Ticked::Preset(DndPreset::ForAnHour));
        assert_eq!(view.morning_label, "Until tomorrow 08:00");

        // Set elsewhere to another end: no preset ticked.
        let other = TrayView::new(&summary(0, 1), Some(until + 60_000), picked, &now());
        assert_eq!(other.ticked, Ticked::Other);

        // Over: off again.
        let later = now() + chrono::Duration::hours(2);
        let over = TrayView::new(&summary(0, 1), Some(until), picked, &later);
        assert_eq!(over.ticked, Ticked::Off);
        assert!(!over.icon.dnd);
        assert_eq!(over.tooltip, "Telltale — 1 warning");
    }

    #[test]
    fn equal_inputs_make_equal_views() {
        let a = TrayView::new(&summary(1, 0), None, None, &now());
        let b = TrayView::new(
            &summary(1, 0),
            None,
            None,
            &(now() + chrono::Duration::seconds(5)),
        );
        assert_eq!(a, b, "a view that does not change must compare equal");
        let c = TrayView::new(&summary(1, 1), None, None, &now());
        assert_ne!(a, c);
    }
}
