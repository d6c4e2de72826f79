"""Sans-I/O Raft: the core (`core.RaftCore`), its values (`messages`), and its storage Protocol."""
