package config

import (
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// setDefaults registers every leaf of def under its mapstructure key, so that environment
// variables reach keys the file does not mention (viper's AutomaticEnv only sees known keys).
func setDefaults(v *viper.Viper, def any) {
	walk(reflect.ValueOf(def), "", func(key string, val any) { v.SetDefault(key, val) })
}

func walk(rv reflect.Value, prefix string, f func(string, any)) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		name := strings.Split(sf.Tag.Get("mapstructure"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := rv.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type.String() != "time.Duration" {
			walk(fv, key, f)
			continue
		}
		f(key, fv.Interface())
	}
}

// FlagKeys maps flag names to configuration keys for the flags every command shares.
var FlagKeys = map[string]string{
	"data-dir":   "data_dir",
	"log-level":  "log.level",
	"ssh-listen": "ssh.listen",
	"web-listen": "web.listen",
	"vnc-listen": "vnc.listen",
}

func bindFlags(v *viper.Viper, fs *pflag.FlagSet) error {
	for flag, key := range FlagKeys {
		if f := fs.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func durationHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
}
