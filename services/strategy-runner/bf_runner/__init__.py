"""BackFuture strategy runner: runs enabled strategies; N replicas share them, with failover."""
