package rdp

import "github.com/seed18fc72c3/vigil/proxy/desktop"

// Session is a graphical Target (the shared contract, declared where it is used).
var _ desktop.Target = (*Session)(nil)
