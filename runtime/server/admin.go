package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/warrenhq/warren/runtime/admin"
)

// mountAdmin serves the admin API and inspector (package admin) at /_warren/ when
// Config.Admin has a token; without one /_warren/ answers 404. The host's checks
// (Host, cross-site requests, body budgets) run before the admin handler's own.
func (s *Server) mountAdmin(e *echo.Echo) {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the admin API is off: start the app with WARREN_ADMIN_TOKEN (or -admin-token-file) to enable it", http.StatusNotFound)
	})
	if s.cfg.Admin.Token != "" {
		ah, err := admin.New(s.rt, s.cfg.Admin)
		if err != nil {
			s.log.Error("server: admin API disabled", "err", err)
		} else {
			h = ah
		}
	}
	e.Any("/_warren", echo.WrapHandler(http.RedirectHandler(admin.Prefix, http.StatusMovedPermanently)))
	e.Any(admin.Prefix+"*", echo.WrapHandler(h))
}

// adminFlags fills cfg from the binary's flags and environment: the token from the
// file, else WARREN_ADMIN_TOKEN (a flag would show it in the process list).
func adminFlags(cfg *admin.Config, tokenFile string, remote bool, backupDir string) error {
	if cfg.Token == "" {
		cfg.Token = os.Getenv("WARREN_ADMIN_TOKEN")
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return fmt.Errorf("-admin-token-file: %v", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	if cfg.Token != "" && len(cfg.Token) < admin.MinTokenLen {
		return fmt.Errorf("the admin token must have at least %d bytes", admin.MinTokenLen)
	}
	cfg.AllowRemote = cfg.AllowRemote || remote
	if backupDir != "" {
		cfg.BackupDir = backupDir
	}
	return nil
}
