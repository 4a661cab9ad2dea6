"""App-side code shared by the pages: cached library calls, sidebar state, widgets."""
