-- Pieces that need no daemon: the generated method table, columns, ANSI, line cutting.
local T = require('harness')

local plugin = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
local schema_path = plugin .. '/../../schema/protocol.schema.json'

T.test('the method table has exactly the schema x-methods, with their kinds', function()
  local schema = vim.json.decode(table.concat(vim.fn.readfile(schema_path), '\n'))
  local P = require('asyncode.protocol')
  local wire = {}
  for _, name in pairs(P.method) do
    wire[name] = true
  end
  for name, spec in pairs(schema['x-methods']) do
    T.truthy(wire[name], 'method ' .. name .. ' of the schema in protocol.lua')
    T.eq(spec.kind, P.spec[name].kind, name .. ' kind')
    T.eq(spec.direction, P.spec[name].direction, name .. ' direction')
    wire[name] = nil
  end
  T.eq({}, wire, 'methods in protocol.lua that the schema lacks')
  for name, node in pairs(schema['$defs']) do
    if type(node) == 'table' and node.enum then
      T.eq(node.enum, P.enum[name], 'enum ' .. name)
    end
  end
end)

T.test('a method name the schema lacks is an error, not a silent nil', function()
  local client = require('asyncode.client')
  T.eq('session/open', client.method.session_open)
  local ok, err = pcall(function()
    return client.method.no_such_method
  end)
  T.eq(false, ok)
  T.has(err, 'no method no_such_method')
end)

T.test('columns convert between bytes and utf-8, utf-16 and code points', function()
  local e = require('asyncode.encoding')
  local line = 'é = "😀"; x.'
  -- bytes: é=2, 😀=4
  T.eq(1, e.to_wire(line, 2, 'utf-32'))
  T.eq(1, e.to_wire(line, 2, 'utf-16'))
  T.eq(#line, e.to_wire(line, #line, 'utf-8'))
  local after_emoji = line:find('"', 7, true) -- the closing quote, 1-based
  T.eq(6, e.to_wire(line, after_emoji - 1, 'utf-32'))
  T.eq(7, e.to_wire(line, after_emoji - 1, 'utf-16'))
  T.eq(after_emoji - 1, e.from_wire(line, 6, 'utf-32'))
  T.eq(after_emoji - 1, e.from_wire(line, 7, 'utf-16'))
  T.eq(#line, e.from_wire(line, 1000, 'utf-32'))
end)

T.test('ANSI colours become highlight groups, across chunks', function()
  local ansi = require('asyncode.ansi')
  local st = {}
  local pieces = ansi.parse(st, 'a\27[31mred\27[0m b\27[1;3')
  T.eq('a', pieces[1][1])
  T.eq(nil, pieces[1][2])
  T.eq('red', pieces[2][1])
  T.truthy(pieces[2][2], 'a group for red')
  T.eq(' b', pieces[3][1])
  T.eq(nil, pieces[3][2])
  local more = ansi.parse(st, '2mgreen')
  T.eq('green', more[1][1])
  local hl = vim.api.nvim_get_hl_by_name(more[1][2], true)
  T.truthy(hl.bold, 'bold')
  T.eq(tonumber('0dbc79', 16), hl.foreground)
  T.eq('plain text', ansi.strip('\27]0;title\7plain \27[38;5;196mtext'))
end)

T.test('streamed text is cut into lines; \\r rewinds a line as a terminal does', function()
  local Lines = require('asyncode.lines')
  local l = Lines.new({ keep = 2 })
  l:push({ { 'a\nb' } })
  l:push({ { '\nc\n' } })
  T.eq(3, l.total)
  T.eq({ 'b', 'c' }, vim.tbl_map(Lines.text, l.kept))
  l:push({ { '10%\r' } })
  l:push({ { '50%\r100%' } })
  T.eq('100%', Lines.text(l.cur))
  l:push({ { '\r\n' } })
  T.eq('100%', Lines.text(l.kept[2]))
  T.eq(4, l.total)
end)

T.test('base64 decodes as the standard says', function()
  local mime = require('asyncode.mime')
  T.eq('hello', mime.base64_decode('aGVsbG8='))
  T.eq('\137PNG\r\n', mime.base64_decode('iVBORw0K'))
end)

T.test('a selection is dedented, and its offsets are kept', function()
  local code = require('asyncode.code')
  local out, bytes, width = code.dedent({ '    x = 1', '', '    if x:', '        y = 2' })
  T.eq({ 'x = 1', '', 'if x:', '    y = 2' }, out)
  T.eq(4, bytes)
  T.eq(4, width)
end)

T.test(':help asyncode documents every command, option and highlight group', function()
  local doc = table.concat(vim.fn.readfile(plugin .. '/doc/asyncode.txt'), '\n')
  local commands = vim.tbl_keys(vim.api.nvim_get_commands({}))
  local n = 0
  for _, name in ipairs(commands) do
    if name:sub(1, 8) == 'Asyncode' then
      T.has(doc, '*:' .. name .. '*', 'the help tag of :' .. name)
      n = n + 1
    end
  end
  T.eq(10, n, 'the commands')
  local function keys(t, prefix)
    for k, v in pairs(t) do
      T.has(doc, '  ' .. k .. ' = ', 'option ' .. prefix .. k)
      if type(v) == 'table' and v[1] == nil then
        keys(v, prefix .. k .. '.')
      end
    end
  end
  keys(require('asyncode.config').defaults(), '')
  for _, name in ipairs({ 'cmd', 'python', 'session', 'image_dir' }) do
    T.has(doc, '  ' .. name .. ' = nil', 'option ' .. name)
  end
  for name in pairs(require('asyncode').highlight_links) do
    T.has(doc, '  ' .. name .. ' ', 'highlight group ' .. name)
  end
  for _, lhs in ipairs({ '<Plug>(AsyncodeRunOperator)', '<Plug>(AsyncodeRun)', '<Plug>(AsyncodeRunCell)',
    '<Plug>(AsyncodeInterrupt)' }) do
    T.truthy(vim.fn.maparg(lhs, 'n') ~= '', lhs .. ' is defined')
    T.has(doc, '*' .. lhs .. '*', 'the help tag of ' .. lhs)
  end
  -- :helptags accepts the file (no duplicate tags), and :help finds it
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. '/doc', 'p')
  vim.fn.writefile(vim.fn.readfile(plugin .. '/doc/asyncode.txt'), dir .. '/doc/asyncode.txt')
  vim.cmd('helptags ' .. dir .. '/doc')
  vim.opt.runtimepath:prepend(dir)
  vim.cmd('help :AsyncodeRun')
  T.has(vim.api.nvim_buf_get_name(0), 'asyncode.txt')
  vim.cmd('close')
end)
