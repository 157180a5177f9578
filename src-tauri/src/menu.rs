//! The text's right-click menu: WebKit's own menu keeps what a person editing text wants —
//! cut, copy, paste, select all, and the spelling suggestions and "ignore/learn spelling" of the
//! word under the pointer — and loses the browser's entries (Back, Reload, Inspect Element,
//! open or download a link, image or frame), which either do nothing useful in a notes app or
//! would load something into its window. Spell checking is turned on for the webview here (the
//! languages of the user's locale, through the system's Enchant dictionaries); the settings
//! screen turns it off per editor with the `spellcheck` attribute.

#[cfg(target_os = "linux")]
use webkit2gtk::{
    ContextMenuAction, ContextMenuExt, ContextMenuItemExt, WebContextExt, WebViewExt,
};

/// Whether a menu entry of WebKit's stays.
#[cfg(target_os = "linux")]
fn keep(action: ContextMenuAction) -> bool {
    use ContextMenuAction as A;
    matches!(
        action,
        A::Cut
            | A::Copy
            | A::Paste
            | A::PasteAsPlainText
            | A::Delete
            | A::SelectAll
            | A::SpellingGuess
            | A::NoGuessesFound
            | A::IgnoreSpelling
            | A::LearnSpelling
            | A::IgnoreGrammar
            | A::CopyLinkToClipboard
            | A::CopyImageToClipboard
    )
}

/// Turns spell checking on, and tidies every menu the webview is about to show (none is shown
/// when nothing is left).
#[cfg(target_os = "linux")]
pub fn prepare(webview: &webkit2gtk::WebView) {
    if let Some(context) = webview.context() {
        context.set_spell_checking_enabled(true);
    }
    webview.connect_context_menu(|_, menu, _, _| {
        for item in menu.items() {
            if !item.is_separator() && !keep(item.stock_action()) {
                menu.remove(&item);
            }
        }
        // Separators left at an end or next to each other.
        let mut last_was_separator = true;
        for item in menu.items() {
            if item.is_separator() && last_was_separator {
                menu.remove(&item);
            }
            last_was_separator = item.is_separator();
        }
        if let Some(last) = menu.items().last().filter(|i| i.is_separator()) {
            menu.remove(last);
        }
        menu.n_items() == 0 // true: no menu at all
    });
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn text_editing_and_spelling_stay_and_the_browser_goes() {
        use ContextMenuAction as A;
        for a in [A::Cut, A::Copy, A::Paste, A::SelectAll, A::SpellingGuess, A::LearnSpelling] {
            assert!(keep(a), "{a:?} should stay");
        }
        for a in [
            A::GoBack,
            A::GoForward,
            A::Reload,
            A::Stop,
            A::InspectElement,
            A::OpenLink,
            A::OpenLinkInNewWindow,
            A::DownloadLinkToDisk,
            A::OpenImageInNewWindow,
            A::DownloadImageToDisk,
            A::OpenFrameInNewWindow,
            A::FontMenu,
            A::InputMethods,
            A::Unicode,
        ] {
            assert!(!keep(a), "{a:?} should go");
        }
    }
}
