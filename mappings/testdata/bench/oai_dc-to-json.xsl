<?xml version="1.0" encoding="UTF-8"?>
<!-- The oai_dc mapping as an XSLT 1.0 transform to JSON lines: what a
     harvester built on stylesheets does per record. BenchmarkXSLT runs it
     with xsltproc beside avo's own step on the same records. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="/">
    <xsl:apply-templates select="//oai_dc:dc"/>
  </xsl:template>

  <xsl:template match="oai_dc:dc">
    <xsl:text>{"external_id":</xsl:text>
    <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(dc:identifier[1])"/></xsl:call-template>
    <xsl:text>,"title":</xsl:text>
    <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(dc:title[1])"/></xsl:call-template>
    <xsl:text>,"description":</xsl:text>
    <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(dc:description[1])"/></xsl:call-template>
    <xsl:text>,"issued":</xsl:text>
    <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(dc:date[1])"/></xsl:call-template>
    <xsl:text>,"type":</xsl:text>
    <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(dc:type[1])"/></xsl:call-template>
    <xsl:text>,"languages":[</xsl:text>
    <xsl:for-each select="dc:language">
      <xsl:if test="position() &gt; 1">,</xsl:if>
      <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(.)"/></xsl:call-template>
    </xsl:for-each>
    <xsl:text>],"partner_keywords":[</xsl:text>
    <xsl:for-each select="dc:subject">
      <xsl:if test="position() &gt; 1">,</xsl:if>
      <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(.)"/></xsl:call-template>
    </xsl:for-each>
    <xsl:text>],"publishers":[</xsl:text>
    <xsl:for-each select="dc:publisher">
      <xsl:if test="position() &gt; 1">,</xsl:if>
      <xsl:text>{"name":</xsl:text>
      <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(.)"/></xsl:call-template>
      <xsl:text>}</xsl:text>
    </xsl:for-each>
    <xsl:text>],"rights":{"licenses":[</xsl:text>
    <xsl:for-each select="dc:rights">
      <xsl:if test="position() &gt; 1">,</xsl:if>
      <xsl:call-template name="string"><xsl:with-param name="s" select="normalize-space(.)"/></xsl:call-template>
    </xsl:for-each>
    <xsl:text>]}}&#10;</xsl:text>
  </xsl:template>

  <!-- A JSON string: quotes and backslashes escaped. -->
  <xsl:template name="string">
    <xsl:param name="s"/>
    <xsl:text>"</xsl:text>
    <xsl:call-template name="escape"><xsl:with-param name="s" select="$s"/></xsl:call-template>
    <xsl:text>"</xsl:text>
  </xsl:template>

  <xsl:template name="escape">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '\')">
        <xsl:call-template name="quote"><xsl:with-param name="s" select="substring-before($s, '\')"/></xsl:call-template>
        <xsl:text>\\</xsl:text>
        <xsl:call-template name="escape"><xsl:with-param name="s" select="substring-after($s, '\')"/></xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="quote"><xsl:with-param name="s" select="$s"/></xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="quote">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '&quot;')">
        <xsl:value-of select="substring-before($s, '&quot;')"/>
        <xsl:text>\"</xsl:text>
        <xsl:call-template name="quote"><xsl:with-param name="s" select="substring-after($s, '&quot;')"/></xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
