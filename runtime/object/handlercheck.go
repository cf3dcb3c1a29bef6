package object

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// handlerInterfaces are the interfaces an object type implements to receive events,
// by the name of their one method.
var handlerInterfaces = map[string]reflect.Type{
	"ServeHTTP":       reflect.TypeFor[http.Handler](),
	"OnBeforeConnect": reflect.TypeFor[BeforeConnectHandler](),
	"OnConnect":       reflect.TypeFor[ConnectHandler](),
	"OnMessage":       reflect.TypeFor[MessageHandler](),
	"OnClose":         reflect.TypeFor[CloseHandler](),
	"OnError":         reflect.TypeFor[ErrorHandler](),
	"Alarm":           reflect.TypeFor[AlarmHandler](),
	"OnSchedule":      reflect.TypeFor[ScheduleHandler](),
}

// checkHandlers fails for a method of *T that is meant as an event handler but would
// never be called: one with a handler's name and another signature, or a name one
// letter (or only case) away from a handler's (OnClosed, Onmessage). Without the
// check such a method is silently ignored.
func checkHandlers(typ reflect.Type) error {
	pt := reflect.PointerTo(typ)
	for i := range pt.NumMethod() {
		m := pt.Method(i)
		for name, iface := range handlerInterfaces {
			want := iface.Method(0).Type
			switch {
			case m.Name == name:
				if !pt.Implements(iface) {
					return fmt.Errorf("%v.%s has the wrong signature for a handler: want func%s", pt, m.Name, strings.TrimPrefix(want.String(), "func"))
				}
			case nearName(m.Name, name):
				return fmt.Errorf("%v.%s is not an event handler: did you mean %s? (rename it if not)", pt, m.Name, name)
			}
		}
	}
	return nil
}

// nearName reports whether a and b differ only in case or by one edit.
func nearName(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	if d := len(a) - len(b); d > 1 || d < -1 {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	// One substitution (equal lengths) or one insertion into b.
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return a[i+1:] == b[i+1:]
	}
	return a[i+1:] == b[i:]
}
