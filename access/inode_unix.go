//go:build unix

package access

import "syscall"

func inode(sys any) uint64 {
	if st, ok := sys.(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
