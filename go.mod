module github.com/pith-project/pith

go 1.26.0
