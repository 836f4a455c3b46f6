"""The leader directory: track records from the Data API, proposals, and what copying would have made."""
