os.execute('true')
