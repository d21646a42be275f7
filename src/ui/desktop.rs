//! Native desktop UI: GTK dialogs behind the Prompter seam, and the tray.
